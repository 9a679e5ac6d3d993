import { openSecret, sealSecret, type SecretsKeys } from '../../secrets.js';

/** RFC 8176: a one-time password. */
export const TOTP_AMR = ['otp'];

/** The context a device's secret is sealed with: the member's id, so a row copied to another member does not open. */
export function totpSecretContext(memberId: string): string {
  return `totp:${memberId}`;
}

/** TOTP secrets are sealed (AES-GCM, src/secrets.ts) under SECRETS_KEY, bound to the member. */
export function sealTotpSecret(keys: SecretsKeys, memberId: string, secret: string): string {
  return sealSecret(keys, secret, totpSecretContext(memberId));
}

/** Opens a device's secret; throws SecretUnreadableError when its key is no longer configured. */
export function openTotpSecret(keys: SecretsKeys, memberId: string, sealed: string): string {
  return openSecret(keys, sealed, totpSecretContext(memberId));
}
