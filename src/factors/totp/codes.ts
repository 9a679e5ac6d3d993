import { randomBytes } from 'node:crypto';
import { TOTP, NobleCryptoPlugin, ScureBase32Plugin } from 'otplib';

/**
 * RFC 6238 time-based one-time passwords as every app in the manual speaks them (Google and
 * Microsoft Authenticator, the Chrome and Edge extensions): HMAC-SHA-1, 6 digits, 30-second steps,
 * a 160-bit secret. One step of clock drift either way is accepted, and a code is accepted at most
 * once per device: the caller stores the last accepted time step and hands it back.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_SECRET_BYTES = 20;
/** Steps of drift either way. */
export const TOTP_DRIFT_STEPS = 1;

const crypto = new NobleCryptoPlugin();
const base32 = new ScureBase32Plugin();
const totp = new TOTP({ crypto, base32, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });

/** A fresh secret in Base32 (RFC 4648, no padding): 32 characters for 160 bits. */
export function newTotpSecret(): string {
  return base32.encode(randomBytes(TOTP_SECRET_BYTES), { padding: false });
}

/** The key shown under 「スキャンできませんか?」, in groups of four for typing. */
export function groupedSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/** What a member typed, tidied: full-width digits, spaces and hyphens (as apps show "123 456") are allowed. */
export function normaliseTotpInput(typed: string): string {
  return typed.normalize('NFKC').replace(/[\s-]/g, '');
}

export function timeStepAt(epochSeconds: number): number {
  return Math.floor(epochSeconds / TOTP_PERIOD_SECONDS);
}

/** The code for a secret at a moment (tests and the bench compute codes the way an app does). */
export async function totpCodeAt(secret: string, epochSeconds: number): Promise<string> {
  return totp.generate({ secret, epoch: Math.floor(epochSeconds) });
}

export type TotpCheck = { valid: true; timeStep: number } | { valid: false };

/**
 * Checks a typed code against a device's secret. `lastTimeStep` is the step of the code last
 * accepted for this device: that code and every older one are refused, so a code that was seen
 * (over a shoulder, in a proxy log) cannot be used again.
 */
export async function verifyTotpCode(secret: string, typed: string, lastTimeStep: number | null, epochSeconds = Date.now() / 1000): Promise<TotpCheck> {
  const token = normaliseTotpInput(typed);
  if (!/^\d{6}$/.test(token)) return { valid: false };
  const epoch = Math.floor(epochSeconds);
  const newest = timeStepAt(epoch) + TOTP_DRIFT_STEPS;
  // otplib refuses (throws on) an afterTimeStep beyond the newest step it would look at: a device
  // whose last code is that new has nothing left to accept in this window.
  if (lastTimeStep !== null && lastTimeStep >= newest) return { valid: false };
  const result = await totp.verify(token, {
    secret,
    epoch,
    epochTolerance: TOTP_DRIFT_STEPS * TOTP_PERIOD_SECONDS,
    afterTimeStep: lastTimeStep ?? undefined,
  });
  return result.valid ? { valid: true, timeStep: result.timeStep } : { valid: false };
}
