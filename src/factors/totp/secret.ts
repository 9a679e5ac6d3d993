import { decryptSecret } from '../../crypto.js';

/** RFC 8176: a one-time password. */
export const TOTP_AMR = ['otp'];

/** TOTP secrets are sealed (AES-GCM) with the member's id as associated data: a row copied to another member does not open. */
export function openTotpSecret(key: Buffer, memberId: string, sealed: string): string {
  return decryptSecret(key, sealed, `totp:${memberId}`);
}
