import type { Member } from '../db/entities/index.js';
import { isLocked, type LockoutState } from '../members/lockout.js';
import { countUnknownIdFailure, failedProof, proofAttempts } from './attempt.js';
import { identifiedBy, type LoginState } from './login.js';
import type { AttemptPorts, FlowDeps } from './ports.js';

/**
 * The login's first stage: identifying the member, by the password or by a passkey alone. Each way
 * is an `Identifier` (src/factors/password/identify.ts, src/factors/passkey/alone.ts) that says whom
 * its input names and checks its proof; `identify` runs it and, as for every later proof, the flow
 * counts the failures (per client IP, per member under the row lock of src/flow/attempt.ts, per
 * unknown user ID) and decides "locked", with the lock to say. Then `nextPlace` (flow/login.ts).
 */

/** Whom an identifier's input names. */
export type Subject<F> =
  /**
   * A member, and what the identifier found with them (`found`). `lock` and `authEpoch` when it read
   * them with the member (the password's one statement): a member locked then is refused before the check.
   */
  | { kind: 'member'; memberId: string; lock?: LockoutState; authEpoch?: number; found: F }
  /** A user ID that does not exist: counted on its own lockout counters (keyed by `key`), so it answers as a member would. */
  | { kind: 'unknown'; key: string }
  /** Nobody we know (an answer naming no passkey of ours, a challenge already spent). */
  | { kind: 'nobody' };

export type MemberSubject<F> = Extract<Subject<F>, { kind: 'member' }>;

/** What an identifier's check showed. */
export type Proof =
  | { kind: 'proved'; amr: string[]; credentialId?: string }
  /** A wrong secret: the flow counts it against the member (or the unknown user ID). */
  | { kind: 'wrong' }
  /** Nothing the member could have guessed (a signature that does not verify): only the client IP counts it. */
  | { kind: 'invalid' }
  /** A valid passkey signature whose sign counter did not grow (possibly a copy): said in its own words. */
  | { kind: 'counter' };

/** Where an identifier runs: the flow's ports and the client IP (for the audit trail). */
export interface IdentifyContext {
  deps: FlowDeps;
  ip: string;
}

/**
 * A way of identifying the member at the login page. It declares its `amr` and whether it stands as
 * the second factor too; it never counts a failure nor decides "locked" (`identify` does).
 */
export interface Identifier<I, F> {
  kind: 'password' | 'passkey';
  /** RFC 8176 values an identification adds (a passkey says hwk or swk by the device it was). */
  amr: readonly string[];
  /** A user-verified passkey is already two factors (NIST SP 800-63B-4 §2.2.1): the login skips its second-factor stage. */
  standsAsSecondFactor: boolean;
  /** The audit event of a counted failure that did not lock. */
  wrongEvent: string;
  /** Whom the input names (`only`: a re-authentication accepts no one but the session's member). */
  subjectOf(context: IdentifyContext, input: I, only?: string): Promise<Subject<F>>;
  /** Spends the time a check takes, for a subject refused as locked: the answer's timing tells nothing. */
  equaliseTiming?(context: IdentifyContext, input: I): Promise<void>;
  /**
   * Checks the proof: `before` the member's row lock (a bcrypt comparison is too slow to hold it for;
   * a wrong one is counted under it afterwards), or `underLock`, on the ports of the transaction
   * holding it (nothing is accepted while the member is locked).
   */
  check:
    | { before(context: IdentifyContext, subject: Exclude<Subject<F>, { kind: 'nobody' }>, input: I): Promise<Proof> }
    | { underLock(tx: AttemptPorts, context: IdentifyContext, subject: MemberSubject<F>, input: I): Promise<Proof> };
}

/** What identifying led to, for the login page to say. */
export type Identification =
  /** `member`: their row, when it was read in this request. */
  | { kind: 'identified'; state: LoginState; member?: Member }
  | { kind: 'invalid' }
  | { kind: 'rate_limited' }
  /** Until when, or for good (the same for an unknown user ID); `member` when the flow read them (said with their user ID). */
  | { kind: 'locked'; lock: Pick<LockoutState, 'lockedUntil' | 'lockedPermanently'>; member?: Member }
  | { kind: 'counter'; member: Member };

/** An identification in one request: its client IP, ログイン状態の保存, and the session's member for a re-authentication. */
export interface IdentifyRequest extends IdentifyContext {
  remember: boolean;
  only?: string;
}

/**
 * Identifies the member with `identifier`. Only failures count against the client IP, so members
 * behind one shared address (an office, a family) never use up each other's attempts.
 */
export async function identify<I, F>(request: IdentifyRequest, identifier: Identifier<I, F>, input: I): Promise<Identification> {
  const { deps, ip } = request;
  const limit = deps.config.union.loginRateLimit;
  const ipBucket = `login-ip:${ip}`;
  if (!(await deps.rateLimits.under(ipBucket, limit.perIp))) return { kind: 'rate_limited' };
  const found = await identifyOnce(request, identifier, input);
  if (found.kind !== 'identified') {
    await deps.rateLimits.hit(ipBucket, limit.perIp, limit.windowSeconds);
    return found;
  }
  // A re-authentication is the session's member's: the user ID changed hands since the session began.
  if (request.only && found.state.memberId !== request.only) return { kind: 'invalid' };
  return found;
}

async function identifyOnce<I, F>(request: IdentifyRequest, identifier: Identifier<I, F>, input: I): Promise<Identification> {
  const { deps, ip } = request;
  const context: IdentifyContext = { deps, ip };
  const subject = await identifier.subjectOf(context, input, request.only);
  if (subject.kind === 'nobody') return { kind: 'invalid' };
  const attempt = proofAttempts(deps, ip);

  if ('before' in identifier.check) {
    // Refused while locked, in the time a check takes, a member and an unknown user ID alike.
    const lock = subject.kind === 'unknown' ? await deps.lockout.unknownIdState(subject.key) : subject.lock;
    if (lock && isLocked(lock, deps.clock.now())) {
      await identifier.equaliseTiming?.(context, input);
      if (subject.kind === 'member') await deps.audit.record(subject.memberId, 'login.refused_locked', {}, ip);
      return { kind: 'locked', lock };
    }
    const proof = await identifier.check.before(context, subject, input);
    if (subject.kind === 'unknown') {
      const after = await countUnknownIdFailure(deps, subject.key);
      return after.lockedNow ? { kind: 'locked', lock: after } : { kind: 'invalid' };
    }
    if (proof.kind === 'proved') {
      const authEpoch = subject.authEpoch ?? (await deps.logins.currentMember(subject.memberId))?.authEpoch;
      return authEpoch === undefined ? { kind: 'invalid' } : identified(request, identifier, subject.memberId, authEpoch, proof);
    }
    if (proof.kind !== 'wrong') return { kind: 'invalid' };
    // Checked before the row lock; counted under it.
    const counted = await attempt(subject.memberId, identifier.wrongEvent, failedProof);
    if (counted.outcome === 'checked') return counted.failure?.lockedNow ? { kind: 'locked', lock: counted.failure } : { kind: 'invalid' };
    // Locked meanwhile by a racing guess: the lock as it is now.
    return lockedNow(deps, subject.memberId);
  }

  if (subject.kind !== 'member') return { kind: 'invalid' };
  const { underLock } = identifier.check;
  const checked = await attempt(subject.memberId, identifier.wrongEvent, async (tx) => {
    const proof = await underLock(tx, context, subject, input);
    return { failed: proof.kind === 'wrong', value: proof };
  });
  const locked = checked.outcome === 'locked' || Boolean(checked.failure?.lockedNow);
  const proof = checked.outcome === 'checked' ? checked.value : undefined;
  if (!locked && proof?.kind !== 'proved' && proof?.kind !== 'counter') return { kind: 'invalid' };
  // Said with the member's user ID: their row as it is now (this request's failure may just have locked them).
  const member = await deps.logins.currentMember(subject.memberId);
  if (!member) return { kind: 'invalid' };
  if (locked || !proof) return { kind: 'locked', lock: { lockedUntil: member.lockedUntil ?? null, lockedPermanently: member.lockedPermanently }, member };
  if (proof.kind === 'counter') return { kind: 'counter', member };
  if (proof.kind !== 'proved') return { kind: 'invalid' };
  return { ...identified(request, identifier, member.id, member.authEpoch, proof), member };
}

function identified<I, F>(
  request: IdentifyRequest,
  identifier: Identifier<I, F>,
  memberId: string,
  authEpoch: number,
  proof: Extract<Proof, { kind: 'proved' }>,
): Extract<Identification, { kind: 'identified' }> {
  return {
    kind: 'identified',
    state: identifiedBy(identifier, { memberId, authEpoch, remember: request.remember, amr: proof.amr, credentialId: proof.credentialId }),
  };
}

async function lockedNow(deps: FlowDeps, memberId: string): Promise<Identification> {
  const member = await deps.logins.currentMember(memberId);
  return { kind: 'locked', lock: { lockedUntil: member?.lockedUntil ?? null, lockedPermanently: Boolean(member?.lockedPermanently) }, member };
}
