import type { Config } from '../config/index.js';
import { registerUnknownIdFailure, withMemberAttempt, type AttemptCheck, type AttemptResult } from '../members/lockout-store.js';
import type { LockoutState } from '../members/lockout.js';
import type { AttemptPorts, LockoutPort } from './ports.js';
import { countUserEvent } from '../ops/metrics.js';

/**
 * One attempt at a proof of who a member is (a code, a signature, the birth date, the password
 * again), checked under the member's row lock: `check` gets the flow's ports scoped to that
 * transaction and answers whether the proof failed; the flow, not the factor, counts the failure and
 * decides "locked". Handed to factors and steps through their Host (`host.attempt`).
 */
export type ProofAttempt = <T>(memberId: string, wrong: string, check: (ports: AttemptPorts) => Promise<AttemptCheck<T>>) => Promise<AttemptResult<T>>;

/** What counting a failure needs: the policy and the lockout tables. */
export type LockoutDeps = { config: Config; lockout: LockoutPort };

/**
 * The proof attempts of one request (its client IP goes into the audit events). The only place
 * that records a failed proof against a member (`wrong`: the event of a failure that did not lock).
 */
export function proofAttempts(deps: LockoutDeps, ip: string): ProofAttempt {
  return (memberId, wrong, check) => withMemberAttempt(deps.lockout.tables, memberId, deps.config.union.lockout, { wrong, ip }, check);
}

/** A proof checked before the lock was taken (a bcrypt comparison, too slow to hold a row for) that failed. */
export const failedProof = async (): Promise<AttemptCheck<undefined>> => ({ failed: true, value: undefined });

/**
 * A wrong password for a user ID that does not exist: counted on the ID's own counters, so the
 * answer is the same as for a member (no enumeration).
 */
export async function countUnknownIdFailure(deps: LockoutDeps, subject: string): Promise<LockoutState & { lockedNow: boolean }> {
  const state = await registerUnknownIdFailure(deps.lockout.tables, subject, deps.config.union.lockout);
  // A member's failures are counted with their audit event (src/members/events.ts); an unknown ID has none.
  countUserEvent(deps.config.society.id, 'login_error', 'user_not_found');
  return state;
}

export type { AttemptCheck, AttemptResult, AttemptPorts };
