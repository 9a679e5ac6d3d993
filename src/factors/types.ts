import type { Host, View } from '../flow/host.js';
import type { Credential, CredentialKind } from '../db/entities/index.js';
import type { PostedForm } from '../flow/form.js';

/** What a proof or a setup led to. */
export type FactorOutcome =
  /** The proof was accepted (at login, at re-authentication), or the setup finished. */
  | { kind: 'verified'; amr: string[]; credentialId?: string }
  /** A page to show: the same form with an error, or the next screen of a setup. */
  | { kind: 'show'; view: View }
  /** The failure locked the member out. */
  | { kind: 'locked' };

/** One line of a list of the member's credentials (the console, `member show`). */
export interface CredentialSummary {
  id: string;
  kind: CredentialKind;
  label: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  detail?: Record<string, unknown>;
}

/**
 * A way of proving who you are at login: what it adds to `amr`, how strong it is (the `acr` a
 * login proved with it reaches, factors/acr.ts), its page and its check. The recovery code is only
 * this; the others can also be set up (`Factor`).
 */
export interface ProofFactor {
  kind: CredentialKind | 'recovery_code';
  /** RFC 8176 `amr` values a successful proof adds (a passkey says hwk or swk by the device it was). */
  amr: string[];
  /** Its strength: the `acr` a login whose second factor it was reaches. */
  acr: string;
  /** The page that asks for the proof. */
  challenge(host: Host): Promise<View>;
  verify(host: Host, input: PostedForm): Promise<FactorOutcome>;
}

/**
 * One way of proving who you are (Ory Kratos' strategies): the login, first-login setup, the account
 * console and re-authentication all use the same four moves. A factor knows no HTTP: it gets a Host
 * and returns a View or an outcome. Adding one is a folder under src/factors/ plus one registry line.
 */
export interface Factor extends ProofFactor {
  kind: CredentialKind;
  /** The first page of setting it up (or of replacing it, for the password). */
  startSetup(host: Host): Promise<View>;
  finishSetup(host: Host, input: PostedForm): Promise<FactorOutcome>;
  summary(credential: Credential): CredentialSummary;
}

export const showView = (view: View): FactorOutcome => ({ kind: 'show', view });
export type { Host, View };
