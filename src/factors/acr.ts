import type { SecondFactorKind } from '../members/credentials.js';

/**
 * The `acr` a login reached, by the second factor that was proved, weakest first. Portals ask for a
 * level with `acr_values`; a session below it is not reused (the member logs in again).
 * - email: a code mailed to the member; NIST SP 800-63B-4 §3.1.3.1 does not accept email as an
 *   out-of-band authenticator, so this is below AAL2.
 * - mfa: password + a TOTP app (AAL2).
 * - phr: a user-verified passkey, with or without the password (AAL2, phishing-resistant).
 */
export const ACR_BY_FACTOR: Record<SecondFactorKind, string> = {
  email: 'urn:kosmo:acr:email',
  totp: 'urn:kosmo:acr:mfa',
  passkey: 'urn:kosmo:acr:phr',
};

/**
 * A recovery code in place of the second factor: a look-up secret the member printed, with the
 * password AAL2 (NIST SP 800-63B-4 §3.1.2), so the member who lost the phone can replace it.
 */
export const ACR_RECOVERY_CODE = ACR_BY_FACTOR.totp;

/** A login without a second factor (a member still setting up, or no factor configured). */
export const ACR_PASSWORD_ONLY = 'urn:kosmo:acr:pwd';

export const ACR_VALUES = [ACR_PASSWORD_ONLY, ACR_BY_FACTOR.email, ACR_BY_FACTOR.totp, ACR_BY_FACTOR.passkey];

export function acrFor(kind: string | undefined): string {
  if (kind === 'recovery_code') return ACR_RECOVERY_CODE;
  return (kind && ACR_BY_FACTOR[kind as SecondFactorKind]) || ACR_PASSWORD_ONLY;
}

/** Whether a session at `reached` satisfies a portal asking for any of `requested` (unknown values are ignored). */
export function acrSatisfies(reached: string | undefined, requested: string[]): boolean {
  const known = requested.map((r) => ACR_VALUES.indexOf(r)).filter((i) => i >= 0);
  if (known.length === 0) return true;
  return ACR_VALUES.indexOf(reached ?? '') >= Math.min(...known);
}

/** The weaker of two levels (an unknown level counts as the weakest). */
export function weakerAcr(a: string, b: string | null | undefined): string {
  if (!b) return a;
  return Math.max(ACR_VALUES.indexOf(a), 0) <= Math.max(ACR_VALUES.indexOf(b), 0) ? a : b;
}

/** The levels of an authenticator app or a passkey: what a member's strong devices are trusted for. */
export const STRONG_ACRS = [ACR_BY_FACTOR.totp, ACR_BY_FACTOR.passkey];

/** Whether a session at `reached` proved an authenticator app or a passkey that counts as such. */
export function isStrongAcr(reached: string | undefined): boolean {
  return ACR_VALUES.indexOf(reached ?? '') >= ACR_VALUES.indexOf(ACR_BY_FACTOR.totp);
}

/**
 * What a device added now will be worth at login: its own level, unless the session adding it was
 * weaker (a passkey added from a session proved by a mailed code). Then it is worth no more than
 * that session, so a device added from a weak session never makes the sessions it opens strong.
 * Null: the device counts as what it is (no session to compare, as inside a login).
 */
export function trustOfNewDevice(kind: SecondFactorKind | 'recovery_code', sessionAcr: string | undefined): string | null {
  if (sessionAcr === undefined) return null;
  const own = acrFor(kind);
  const trusted = weakerAcr(own, sessionAcr);
  return trusted === own ? null : trusted;
}
