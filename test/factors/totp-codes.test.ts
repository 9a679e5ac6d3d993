import { describe, it, expect } from '@jest/globals';
import { ScureBase32Plugin } from 'otplib';
import { newTotpSecret, totpCodeAt, verifyTotpCode, timeStepAt, groupedSecret, normaliseTotpInput } from '../../src/factors/totp/codes.js';
import { otpauthUri, qrCodeSvg } from '../../src/factors/totp/enrolment.js';

// RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890". The RFC prints
// 8 digits; a 6-digit code is the same truncated value modulo 10^6, i.e. its last six digits.
const RFC_SEED = new ScureBase32Plugin().encode(new TextEncoder().encode('12345678901234567890'), { padding: false });
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP codes (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  it.each(RFC_VECTORS)('at T=%s the code is the last six digits of %s', async (time, eight) => {
    expect(await totpCodeAt(RFC_SEED, time)).toBe(eight.slice(-6));
    const check = await verifyTotpCode(RFC_SEED, eight.slice(-6), null, time);
    expect(check).toEqual({ valid: true, timeStep: Math.floor(time / 30) });
  });

  it('a new secret is 160 random bits in Base32 without padding', () => {
    const a = newTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(new ScureBase32Plugin().decode(a)).toHaveLength(20);
    expect(newTotpSecret()).not.toBe(a);
    expect(groupedSecret(a).split(' ')).toHaveLength(8);
  });

  it('accepts one step of drift either way and refuses two', async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015;
    for (const [offset, ok] of [
      [-60, false],
      [-30, true],
      [0, true],
      [30, true],
      [60, false],
    ] as const) {
      const code = await totpCodeAt(secret, now + offset);
      expect((await verifyTotpCode(secret, code, null, now)).valid).toBe(ok);
    }
  });

  it('refuses a code already accepted, and any older one, but takes the next', async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015;
    const first = await verifyTotpCode(secret, await totpCodeAt(secret, now), null, now);
    expect(first).toEqual({ valid: true, timeStep: timeStepAt(now) });
    const step = (first as { timeStep: number }).timeStep;
    expect((await verifyTotpCode(secret, await totpCodeAt(secret, now), step, now + 5)).valid).toBe(false);
    expect((await verifyTotpCode(secret, await totpCodeAt(secret, now - 30), step, now)).valid).toBe(false);
    expect(await verifyTotpCode(secret, await totpCodeAt(secret, now + 30), step, now + 30)).toEqual({ valid: true, timeStep: step + 1 });
    // A last step ahead of anything this window looks at (the clock went back) refuses without throwing.
    expect((await verifyTotpCode(secret, await totpCodeAt(secret, now), step + 5, now)).valid).toBe(false);
  });

  it('takes what members type from apps: spaces, a hyphen, full-width digits; refuses anything else', async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015;
    const code = await totpCodeAt(secret, now);
    const wide = code.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    expect(normaliseTotpInput(`${code.slice(0, 3)} ${code.slice(3)}`)).toBe(code);
    expect((await verifyTotpCode(secret, wide, null, now)).valid).toBe(true);
    expect((await verifyTotpCode(secret, `${code.slice(0, 3)}-${code.slice(3)}`, null, now)).valid).toBe(true);
    for (const bad of ['', '12345', '1234567', 'abcdef', `${code}\u0000`, '\ud800'.repeat(6), '9'.repeat(10000)]) {
      expect((await verifyTotpCode(secret, bad, null, now)).valid).toBe(false);
    }
  });

  it('the otpauth URI names the society and the user ID, and the QR code is an inline SVG of it', async () => {
    const uri = otpauthUri({ issuer: 'コスモ健康保険組合', account: 'kosmo001', secret: 'JBSWY3DPEHPK3PXP' });
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.host).toBe('totp');
    expect(decodeURIComponent(parsed.pathname)).toBe('/コスモ健康保険組合:kosmo001');
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      secret: 'JBSWY3DPEHPK3PXP',
      issuer: 'コスモ健康保険組合',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
    expect(uri).not.toContain('+');
    const svg = await qrCodeSvg(uri, 'QR "code" <for> setup');
    expect(svg).toMatch(/^<svg class="qr" role="img" aria-label="QR &quot;code&quot; &lt;for&gt; setup"/);
    expect(svg).not.toMatch(/style=|<script/i);
  });
});
