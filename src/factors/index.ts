import type { SecondFactorKind } from '../members/credentials.js';
import { passwordFactor } from './password/index.js';
import type { Factor } from './types.js';

/**
 * The second factors a member can choose, by credential kind. A kind missing here is not asked at
 * login yet (the member's choice is kept).
 */
export const SECOND_FACTORS: Partial<Record<SecondFactorKind, Factor>> = {};

export { passwordFactor };
export type { Factor, FactorOutcome, CredentialSummary } from './types.js';
