import { describe, it, expect } from '@jest/globals';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { hmac } from '../src/crypto.js';
import { openSecret, resealSecret, sealSecret, sealedKeyId, sealedUnderCurrentKey, secretsKeyId, SecretUnreadableError } from '../src/secrets.js';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const onlyA = { secretsKey: A, previousSecretsKeys: [] };
const onlyB = { secretsKey: B, previousSecretsKeys: [] };
const bThenA = { secretsKey: B, previousSecretsKeys: [A] };

/** A secret as the provider sealed it before key ids: "v1.<iv>.<tag>.<ciphertext>". */
function sealedBeforeKeyIds(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

function unreadable(fn: () => unknown): SecretUnreadableError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SecretUnreadableError) return err;
    throw err;
  }
  throw new Error('no SecretUnreadableError');
}

describe('secrets at rest under SECRETS_KEY, with the keys it replaced', () => {
  it('names the key a secret is sealed with, and binds the secret to its context', () => {
    const sealed = sealSecret(onlyA, 'JBSWY3DPEHPK3PXP', 'totp:m1');
    expect(sealed).toMatch(/^v2\.[A-Za-z0-9_-]{8}\./);
    expect(sealedKeyId(sealed)).toBe(secretsKeyId(A));
    expect(secretsKeyId(A)).not.toBe(secretsKeyId(B));
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(openSecret(onlyA, sealed, 'totp:m1')).toBe('JBSWY3DPEHPK3PXP');
    expect(unreadable(() => openSecret(onlyA, sealed, 'totp:m2')).message).toMatch(/does not open/);
  });

  it('opens a secret sealed under the previous key, and not once that key is gone', () => {
    const underA = sealSecret(onlyA, 'secret-under-a', 'ctx');
    expect(openSecret(bThenA, underA, 'ctx')).toBe('secret-under-a');
    const lost = unreadable(() => openSecret(onlyB, underA, 'ctx'));
    expect(lost.keyId).toBe(secretsKeyId(A));
    expect(lost.message).toBe(`secret cannot be decrypted: sealed with key id ${secretsKeyId(A)}, which is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS`);
    expect(lost.message).not.toContain('secret-under-a');
  });

  it('still reads the format from before key ids, under the current or a previous key', () => {
    const old = sealedBeforeKeyIds(A, 'sealed-in-v1', 'totp:m1');
    expect(openSecret(onlyA, old, 'totp:m1')).toBe('sealed-in-v1');
    expect(openSecret(bThenA, old, 'totp:m1')).toBe('sealed-in-v1');
    expect(unreadable(() => openSecret(onlyB, old, 'totp:m1')).keyId).toBeUndefined();
    expect(sealedUnderCurrentKey(onlyA, old)).toBe(false);
  });

  it('seals again under the current key for a rotation', () => {
    const underA = sealSecret(onlyA, 'rotate-me', 'ctx');
    expect(sealedUnderCurrentKey(bThenA, underA)).toBe(false);
    const underB = resealSecret(bThenA, underA, 'ctx');
    expect(sealedUnderCurrentKey(bThenA, underB)).toBe(true);
    expect(openSecret(onlyB, underB, 'ctx')).toBe('rotate-me');
    expect(() => resealSecret(onlyB, underA, 'ctx')).toThrow(SecretUnreadableError);
  });

  it('refuses what is not a sealed secret as unreadable, not as a crash', () => {
    for (const junk of ['', 'v2', 'v2.x.y.z', 'plain text', 'v1.a.b.c.d', 'v3.a.b.c.d']) {
      expect(unreadable(() => openSecret(onlyA, junk, 'ctx')).message).toMatch(/^secret cannot be decrypted/);
    }
  });
});

describe('hmac', () => {
  it('gives the same MAC for a Buffer key (made a KeyObject once) as a plain HMAC, every time', () => {
    const key = Buffer.alloc(32, 0x5c);
    const plain = createHmac('sha256', Buffer.from(key)).update('csrf:secret:session').digest('base64url');
    expect(hmac(key, 'csrf:secret:session')).toBe(plain);
    expect(hmac(key, 'csrf:secret:session')).toBe(plain);
    expect(hmac(Buffer.alloc(32, 0x5d), 'csrf:secret:session')).not.toBe(plain);
    expect(hmac('string-key', 'x')).toBe(createHmac('sha256', 'string-key').update('x').digest('base64url'));
  });
});
