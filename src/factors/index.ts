import type { SecondFactorKind } from '../members/credentials.js';
import { passwordFactor } from './password/index.js';
import { totpFactor } from './totp/index.js';
import { passkeyFactor } from './passkey/index.js';
import { emailFactor } from './email-otp/index.js';
import type { Factor } from './types.js';

/**
 * The second factors a member can choose, by credential kind. A kind missing here is not asked at
 * login yet (the member's choice is kept).
 */
export const SECOND_FACTORS: Partial<Record<SecondFactorKind, Factor>> = {
  passkey: passkeyFactor,
  totp: totpFactor,
  email: emailFactor,
};

export { passwordFactor };
export type { Factor, FactorOutcome, CredentialSummary } from './types.js';
