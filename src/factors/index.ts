import type { SecondFactorKind } from '../members/credentials.js';
import { passwordFactor } from './password/index.js';
import { totpFactor } from './totp/index.js';
import { passkeyFactor } from './passkey/index.js';
import { emailFactor } from './email/index.js';
import { recoveryCodeFactor } from './recovery-code/index.js';
import { passwordIdentifier } from './password/identify.js';
import { passkeyIdentifier } from './passkey/alone.js';
import type { Factor, ProofFactor } from './types.js';

/**
 * The second factors a member can choose, by credential kind. A kind missing here is not asked at
 * login yet (the member's choice is kept).
 */
export const SECOND_FACTORS: Partial<Record<SecondFactorKind, Factor>> = {
  passkey: passkeyFactor,
  totp: totpFactor,
  email: emailFactor,
};

/** What can stand as a login's second factor: the chosen ones, and a recovery code in place of any. */
export type SecondProofKind = SecondFactorKind | 'recovery_code';

/** Every proof a login can finish with, by the kind it records: its `amr` and strength (`acr`) come from here. */
export const SECOND_PROOFS: Partial<Record<SecondProofKind, ProofFactor>> = {
  ...SECOND_FACTORS,
  recovery_code: recoveryCodeFactor,
};

/** The ways of identifying the member at the login page, the login's first stage (flow/identify.ts), are the password and a passkey alone. */
export { passwordFactor, recoveryCodeFactor, passwordIdentifier, passkeyIdentifier };
export type { Factor, ProofFactor, FactorOutcome, CredentialSummary } from './types.js';
