import { describe, it, expect } from '@jest/globals';
import { issueChallenge, challengeValid } from '../../src/factors/passkey/challenge.js';
import { authenticatorName, defaultPasskeyLabel } from '../../src/factors/passkey/names.js';
import { parseAuthenticationResponse, parseRegistrationResponse } from '../../src/factors/passkey/ceremony.js';
import { normaliseLabel, labelProblem, labelTaken } from '../../src/factors/labels.js';
import { newEmailCode, hashEmailCode, emailCodeMatches, maskAddress, normaliseEmailCodeInput } from '../../src/factors/email/codes.js';

const key = Buffer.alloc(32, 3);

describe('passkey challenges bound to one flow', () => {
  it('is valid for its flow and purpose only, and not once too old or tampered with', () => {
    const now = Date.now();
    const c = issueChallenge(key, 'authenticate', 'uid-1', now);
    expect(challengeValid([key], 'authenticate', 'uid-1', c, 360, now + 1000)).toBe(true);
    expect(challengeValid([key], 'authenticate', 'uid-2', c, 360, now)).toBe(false);
    expect(challengeValid([key], 'register', 'uid-1', c, 360, now)).toBe(false);
    expect(challengeValid([Buffer.alloc(32, 4)], 'authenticate', 'uid-1', c, 360, now)).toBe(false);
    expect(challengeValid([key], 'authenticate', 'uid-1', c, 360, now + 361_000)).toBe(false);
    const flipped = c[10] === 'A' ? 'B' : 'A';
    expect(challengeValid([key], 'authenticate', 'uid-1', c.slice(0, 10) + flipped + c.slice(11), 360, now)).toBe(false);
    for (const bad of ['', 'x', `${c}A`, '\u0000'.repeat(72)]) expect(challengeValid([key], 'authenticate', 'uid-1', bad, 360, now)).toBe(false);
  });

  it('made with the key SECRETS_KEY replaced, is still valid while that key is accepted', () => {
    const now = Date.now();
    const c = issueChallenge(key, 'authenticate', 'uid-1', now);
    expect(challengeValid([Buffer.alloc(32, 4), key], 'authenticate', 'uid-1', c, 360, now)).toBe(true);
    expect(challengeValid([Buffer.alloc(32, 4)], 'authenticate', 'uid-1', c, 360, now)).toBe(false);
  });
});

describe('passkey names', () => {
  it('names common authenticators from their AAGUID and numbers a name already taken', () => {
    expect(authenticatorName('fbfc3007-154e-4ecc-8c0b-6e020557d7bd', true)).toBe('iCloud Keychain');
    expect(authenticatorName('EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4', true)).toBe('Google Password Manager');
    expect(authenticatorName('08987058-cadc-4b81-b6e1-30de50dcbe96', false)).toBe('Windows Hello');
    expect(authenticatorName('adce0002-35bc-c60a-648b-0b25f1f05503', false)).toBe('Chrome on Mac');
    expect(authenticatorName('bada5566-a7aa-401f-bd96-45619a55120d', true)).toBe('1Password');
    expect(authenticatorName('d548826e-79b4-db40-a3d8-11116f7e8349', true)).toBe('Bitwarden');
    expect(authenticatorName('00000000-0000-0000-0000-000000000000', true)).toBe('iCloud Keychain');
    expect(authenticatorName('00000000-0000-0000-0000-000000000000', false)).toBeUndefined();
    expect(defaultPasskeyLabel('01020304-0506-0708-0102-030405060708', false, 'パスキー', [])).toBe('パスキー');
    expect(defaultPasskeyLabel('fbfc3007-154e-4ecc-8c0b-6e020557d7bd', true, 'パスキー', ['iCloud Keychain', 'icloud keychain (2)'])).toBe(
      'iCloud Keychain (3)',
    );
  });
});

describe('browser answers parsed at the boundary', () => {
  it('refuses anything that is not a WebAuthn response', () => {
    for (const bad of [
      undefined,
      '',
      'null',
      '[]',
      '{"id":"a"}',
      '{'.repeat(10),
      'x'.repeat(70000),
      JSON.stringify({ id: 'a b', rawId: 'a', type: 'public-key', response: {} }),
    ]) {
      expect(parseRegistrationResponse(bad)).toBeUndefined();
      expect(parseAuthenticationResponse(bad)).toBeUndefined();
    }
    const ok = {
      id: 'abc',
      rawId: 'abc',
      type: 'public-key',
      response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
      clientExtensionResults: {},
    };
    expect(parseAuthenticationResponse(JSON.stringify(ok))?.id).toBe('abc');
  });
});

describe('device names', () => {
  it('keeps one visible line and compares as members read', () => {
    expect(normaliseLabel('  会社用\u0000\u200b  iPhone \n')).toBe('会社用 iPhone');
    expect(normaliseLabel('\ud800x')).toBe('x');
    expect(normaliseLabel(['a'])).toBe('');
    expect(labelProblem('')).toBe('required');
    expect(labelProblem('あ'.repeat(65))).toBe('too_long');
    expect(labelProblem('あ'.repeat(64))).toBeUndefined();
    expect(labelTaken('ＩＰＨＯＮＥ', ['iphone'])).toBe(true);
    expect(labelTaken('個人用', ['会社用'])).toBe(false);
  });
});

describe('mailed one-time codes', () => {
  it('are six digits, stored as a keyed hash bound to the member', () => {
    const codes = new Set(Array.from({ length: 200 }, newEmailCode));
    for (const c of codes) expect(c).toMatch(/^\d{6}$/);
    expect(codes.size).toBeGreaterThan(190);
    const h = hashEmailCode(key, 'm1', '012345');
    expect(h).not.toContain('012345');
    expect(h.length).toBeLessThanOrEqual(64);
    const keys = { secretsKey: key, previousSecretsKeys: [] };
    expect(emailCodeMatches(keys, 'm1', '012345', h)).toBe(true);
    expect(emailCodeMatches(keys, 'm2', '012345', h)).toBe(false);
    expect(emailCodeMatches(keys, 'm1', '012346', h)).toBe(false);
    expect(emailCodeMatches(keys, 'm1', normaliseEmailCodeInput('０１２ ３４５'), h)).toBe(true);
    // Mailed just before SECRETS_KEY changed: matches while the old key is in SECRETS_KEY_PREVIOUS.
    const rotated = Buffer.alloc(32, 5);
    expect(emailCodeMatches({ secretsKey: rotated, previousSecretsKeys: [key] }, 'm1', '012345', h)).toBe(true);
    expect(emailCodeMatches({ secretsKey: rotated, previousSecretsKeys: [] }, 'm1', '012345', h)).toBe(false);
    expect(normaliseEmailCodeInput({})).toBe('');
    expect(maskAddress('hanako@example.jp')).toBe('ha***@example.jp');
    expect(maskAddress('k@example.jp')).toBe('k***@example.jp');
  });
});
