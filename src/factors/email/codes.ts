import { randomInt } from 'node:crypto';
import { constantTimeEqual, hmac } from '../../crypto.js';
import { acceptedKeys, type SecretsKeys } from '../../secrets.js';

/**
 * Mailed one-time codes: six random digits, kept only as an HMAC under the server's secret (a
 * database copy alone cannot be turned back into codes by trying all million), compared in
 * constant time. Expiry, single use and the number of tries live with the stored row.
 */
export const EMAIL_CODE_DIGITS = 6;

export function newEmailCode(): string {
  return String(randomInt(0, 10 ** EMAIL_CODE_DIGITS)).padStart(EMAIL_CODE_DIGITS, '0');
}

/** The MAC's domain label, fixed since the first release: changing it would void every code in flight. */
const MAC_LABEL = 'email-otp';

/** The stored form: bound to the member, so a hash copied to another member's row proves nothing. */
export function hashEmailCode(key: Buffer, memberId: string, code: string): string {
  return hmac(key, `${MAC_LABEL}:${memberId}:${code}`);
}

/** What a member typed, tidied like the TOTP field: full-width digits, spaces and hyphens allowed. */
export function normaliseEmailCodeInput(typed: unknown): string {
  return typeof typed === 'string' ? typed.slice(0, 64).normalize('NFKC').replace(/[\s-]/g, '') : '';
}

/** A code mailed just before SECRETS_KEY changed was hashed with the key now in SECRETS_KEY_PREVIOUS. */
export function emailCodeMatches(keys: SecretsKeys, memberId: string, typed: string, storedHash: string): boolean {
  if (!/^\d{6}$/.test(typed)) return false;
  return acceptedKeys(keys).some((key) => constantTimeEqual(hashEmailCode(key, memberId, typed), storedHash));
}

/** The address as the code page shows it: enough to recognise, not enough to harvest (k***@example.jp). */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '***';
  const local = address.slice(0, at);
  return `${local.slice(0, Math.min(2, local.length - 1) || 1)}***${address.slice(at)}`;
}
