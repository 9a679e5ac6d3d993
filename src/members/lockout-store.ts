import type { EntityManager } from '@mikro-orm/core';
import { toDate, type Sql } from '../db/sql.js';
import type { UnionPolicy } from '../config/union.js';
import { isLocked, registerFailure, registerSuccess, type LockoutState } from './lockout.js';
import { countMemberEvent, recordMemberEvent } from './events.js';

/**
 * The only module that writes lockout state: the member's columns (failed_logins, lock_count,
 * locked_until, locked_permanently) and `login_lockout`, the same counters for user IDs that do
 * not exist (keyed by an HMAC of the typed ID, so that an unknown ID answers like a real one).
 */

const COLUMNS = `failed_logins as "failedLogins", lock_count as "lockCount", locked_until as "lockedUntil", locked_permanently as "lockedPermanently"`;

function withDates<T extends LockoutState>(row: T): T {
  return { ...row, lockedUntil: toDate(row.lockedUntil) };
}

/** The audit event a failure records with it: `wrong` while counting, `login.locked` when it locks. */
export interface FailureAudit {
  wrong: string;
  ip?: string;
}

type FailureState = LockoutState & { lockedNow: boolean; newlyLocked: boolean };

/** Counts one failure on a member row the caller's transaction `tx` holds locked, with its event. */
async function countLockedMemberFailure(
  tx: Sql,
  memberId: string,
  row: LockoutState,
  policy: UnionPolicy['lockout'],
  audit?: FailureAudit,
): Promise<FailureState> {
  const next = registerFailure(row, policy, new Date());
  await tx.run('update member set failed_logins = $2, lock_count = $3, locked_until = $4, locked_permanently = $5 where id = $1', [
    memberId,
    next.failedLogins,
    next.lockCount,
    next.lockedUntil,
    next.lockedPermanently,
  ]);
  if (audit) {
    // One lock, one login.locked event, however many guesses raced into it.
    const event = next.newlyLocked ? 'login.locked' : next.lockedNow ? 'login.refused_locked' : audit.wrong;
    await recordMemberEvent(tx, memberId, event, next.newlyLocked && next.lockedPermanently ? { permanent: true } : {}, audit.ip, audit.wrong);
  }
  return next;
}

async function lockMemberRow(tx: Sql, memberId: string): Promise<LockoutState> {
  return withDates((await tx.one<LockoutState>(`select ${COLUMNS} from member where id = $1 for update`, [memberId]))!);
}

/**
 * Counts one failed proof of identity (a wrong password, birth date or code) against a member,
 * under a row lock so that parallel attempts are all counted, and records its event in the same
 * transaction. Returns the new state.
 */
export async function registerMemberFailure(sql: Sql, memberId: string, policy: UnionPolicy['lockout'], audit?: FailureAudit): Promise<FailureState> {
  return sql.transaction(async (tx) => countLockedMemberFailure(tx, memberId, await lockMemberRow(tx, memberId), policy, audit));
}

/**
 * What a check inside `withMemberAttempt` found: `failed` counts one failure toward the lockout (a
 * wrong code, birth date or signature); anything else (accepted, or nothing the member could have
 * guessed, such as an expired code) counts nothing. `value` is handed back to the caller.
 */
export interface AttemptCheck<T> {
  failed: boolean;
  value: T;
}

export type AttemptResult<T> =
  /** The member was locked: nothing was checked. */
  | { outcome: 'locked' }
  /** The check ran; `failure` is the lockout state after a counted failure (`lockedNow`: it locked). */
  | { outcome: 'checked'; value: T; failure?: FailureState };

/**
 * The lockout tables as the login flow reaches them, and what a check under a member's row lock is
 * given (`P`: the flow's ports scoped to that transaction, src/members/ports.ts). Opaque outside this
 * module: src/flow/attempt.ts only hands it back to `withMemberAttempt` and `registerUnknownIdFailure`.
 */
export type LockoutTables<P> = { readonly lockoutTables: P };

interface OpenTables<P> {
  sql: Sql;
  scoped(tx: Sql, em: EntityManager): P;
}

export function lockoutTables<P>(sql: Sql, scoped: (tx: Sql, em: EntityManager) => P): LockoutTables<P> {
  return { sql, scoped } satisfies OpenTables<P> as unknown as LockoutTables<P>;
}

const opened = <P>(tables: LockoutTables<P>) => tables as unknown as OpenTables<P>;

/**
 * One attempt at a proof after the member is identified (a second factor, the birth date, a
 * passkey): a transaction that takes the member's row lock, refuses at once when the member is
 * locked, and otherwise runs `check` on that transaction (with `tables`' ports scoped to it) — the
 * check verifies the proof and, when right, spends it (the TOTP step, the mailed code, the recovery
 * code) there. A failure is counted under the same lock. So guesses on one member are checked one at
 * a time, at most `maxFailures` of them per lock, and none is accepted while the member is locked
 * (issue 17). Everything `check` does must go through the ports it is given: a statement on the pool
 * would wait for a connection while this one holds the row.
 */
export async function withMemberAttempt<T, P>(
  tables: LockoutTables<P>,
  memberId: string,
  policy: UnionPolicy['lockout'],
  audit: FailureAudit,
  check: (ports: P) => Promise<AttemptCheck<T>>,
): Promise<AttemptResult<T>> {
  const { sql, scoped } = opened(tables);
  return sql.transaction(async (tx, em) => {
    const row = await lockMemberRow(tx, memberId);
    if (isLocked(row, new Date())) {
      await recordMemberEvent(tx, memberId, 'login.refused_locked', { via: audit.wrong.replace(/^\w+\./, '').replace(/_wrong$/, '') }, audit.ip);
      return { outcome: 'locked' } as const;
    }
    const result = await check(scoped(tx, em));
    if (!result.failed) return { outcome: 'checked', value: result.value } as const;
    return { outcome: 'checked', value: result.value, failure: await countLockedMemberFailure(tx, memberId, row, policy, audit) } as const;
  });
}

/** The same counting for a user ID that does not exist. */
export async function registerUnknownIdFailure(
  tables: LockoutTables<unknown>,
  subject: string,
  policy: UnionPolicy['lockout'],
): Promise<LockoutState & { lockedNow: boolean; newlyLocked: boolean }> {
  return opened(tables).sql.transaction(async (tx) => {
    const current = withDates(
      (await tx.one<LockoutState>(
        `insert into login_lockout (subject) values ($1) on conflict (subject, society_id) do update set updated_at = now() returning ${COLUMNS}`,
        [subject],
      ))!,
    );
    const next = registerFailure(current, policy, new Date());
    await tx.run(
      'update login_lockout set failed_logins = $2, lock_count = $3, locked_until = $4, locked_permanently = $5, updated_at = now() where subject = $1',
      [subject, next.failedLogins, next.lockCount, next.lockedUntil, next.lockedPermanently],
    );
    return next;
  });
}

export async function unknownIdLockout(sql: Sql, subject: string): Promise<LockoutState> {
  const row = await sql.one<LockoutState>(`select ${COLUMNS} from login_lockout where subject = $1`, [subject]);
  return row ? withDates(row) : registerSuccess();
}

/**
 * A completed login (password, owed steps and second factor): consecutive failures and the lock
 * history are forgotten, and the event is recorded, in one statement (the login's hot path). Not
 * cleared, and nothing changes, when the member is locked meanwhile (guesses racing with the proof
 * locked them): the login does not finish, and the lock stays. With the device (or recovery code)
 * that proved the second factor, also answers what it is trusted for (its trust_acr: null when it
 * counts as what it is).
 */
export async function clearMemberFailures(
  sql: Sql,
  memberId: string,
  event: { type: string; ip?: string },
  deviceId?: string,
): Promise<{ cleared: boolean; trust: string | null }> {
  const row = await sql.one<{ cleared: boolean; trust: string | null }>(
    `with cleared as (
       update member set failed_logins = 0, lock_count = 0, locked_until = null, locked_permanently = false, last_login_at = now()
       where id = $1 and not locked_permanently and (locked_until is null or locked_until <= now()) returning id),
     recorded as (insert into member_event (member_id, type, detail, ip) select id, $2, '{}', $3 from cleared)
     select exists(select 1 from cleared) as cleared,
       (select trust_acr from credential where id = $4 and member_id = $1
        union all select trust_acr from recovery_code where id = $4 and member_id = $1 limit 1) as trust`,
    [memberId, event.type, event.ip ?? null, deviceId ?? null],
  );
  if (row?.cleared) countMemberEvent(sql, event.type);
  return { cleared: Boolean(row?.cleared), trust: row?.trust ?? null };
}

/** A proof that is not a full login (the birth date at first login) resets the count, not the lock history. */
export async function resetFailureCount(sql: Sql, memberId: string): Promise<void> {
  await sql.run('update member set failed_logins = 0 where id = $1', [memberId]);
}

/**
 * A credential reset through the mailed link ends any lock, the permanent one too: the member proved
 * control of the confirmed address, so a stranger's wrong guesses cannot keep them out (issue 11).
 * It also raises auth_epoch, so that a login which passed the old credential and has not finished
 * cannot finish (http/interaction/steps.ts).
 */
export async function endLocksAfterReset(sql: Sql, memberId: string): Promise<void> {
  await sql.run(
    'update member set failed_logins = 0, lock_count = 0, locked_until = null, locked_permanently = false, auth_epoch = auth_epoch + 1 where id = $1',
    [memberId],
  );
}

/** `member unlock`: clears everything, a permanent lock too. Returns the state before, locked under the row lock. */
export async function unlockMemberCompletely(sql: Sql, memberId: string): Promise<LockoutState & { locked: boolean }> {
  const previous = withDates(
    (await sql.one<LockoutState & { locked: boolean }>(
      `select ${COLUMNS}, locked_permanently or coalesce(locked_until > now(), false) as locked from member where id = $1 for update`,
      [memberId],
    ))!,
  );
  await sql.run('update member set failed_logins = 0, lock_count = 0, locked_until = null, locked_permanently = false, updated_at = now() where id = $1', [
    memberId,
  ]);
  return previous;
}

/** Forgets the counters of unknown IDs that are neither locked nor recently used. */
export async function deleteStaleUnknownIdLockouts(sql: Sql): Promise<number> {
  return sql.run(
    `delete from login_lockout where locked_permanently = false and (locked_until is null or locked_until < now()) and updated_at < now() - interval '1 day'`,
  );
}
