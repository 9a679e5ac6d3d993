import type { Sql } from '../db/sql.js';
import { countUserEvent } from '../ops/metrics.js';

/**
 * The audit trail for administrators (`member events`). Recorded through the Sql of the change it
 * describes, so that the event lands with the change. Never put passwords, codes or secrets in `detail`.
 * `cause`: for `login.locked`, the failure that locked (its `*_wrong` event), counted in the metrics
 * but not stored.
 */
export async function recordMemberEvent(
  sql: Sql,
  memberId: string | null,
  type: string,
  detail: Record<string, unknown> = {},
  ip?: string,
  cause?: string,
): Promise<void> {
  await sql.run('insert into member_event (member_id, type, detail, ip) values ($1, $2, $3, $4)', [memberId, type, JSON.stringify(detail), ip ?? null]);
  countMemberEvent(sql, type, detail, cause);
}

/** Why a proof failed, as `login_error`'s reason: its `*_wrong` event. */
const FAILURE_REASONS: Record<string, string> = {
  'login.password_wrong': 'invalid_credentials',
  'login.totp_wrong': 'wrong_code',
  'login.email_wrong': 'wrong_code',
  'login.recovery_code_wrong': 'wrong_code',
  'login.passkey_wrong': 'invalid_passkey',
  'onboarding.birthdate_wrong': 'wrong_birthdate',
};

/** Audit events that are a user event of their own (Keycloak's names where it has one). */
const USER_EVENTS: Record<string, string> = {
  'login.completed': 'login',
  'factor.totp_added': 'second_factor_setup_totp',
  'factor.passkey_added': 'second_factor_setup_passkey',
  'factor.email_added': 'second_factor_setup_email',
  'account.factor_removed': 'remove_credential',
  'recovery_codes.issued': 'recovery_codes_issued',
  'recovery.password_link_sent': 'send_reset_password',
  'admin.unlocked': 'unlock',
  'admin.mfa_reset': 'reset_second_factors',
  'terms.accepted': 'terms_accepted',
  'terms.declined': 'terms_declined',
};

/**
 * An audit event's count in `kosmo_user_events_total` (src/ops/metrics.ts): a login, a failed proof
 * (`login_error` with its reason), a refusal while locked (`login_error`, `locked`), a lock
 * (`lockout`, with the failure that locked as a `login_error` too), a password changed or reset.
 * Counted when recorded: a change whose transaction then rolls back is still counted (rare: the
 * event is the last thing a change writes).
 */
export function countMemberEvent(sql: Sql, type: string, detail: Record<string, unknown> = {}, cause?: string): void {
  const society = sql.societyId();
  for (const [event, error] of userEventsOf(type, detail, cause)) countUserEvent(society, event, error);
}

function userEventsOf(type: string, detail: Record<string, unknown>, cause?: string): [event: string, error?: string][] {
  const reason = FAILURE_REASONS[type];
  if (reason) return [['login_error', reason]];
  if (type === 'login.refused_locked') return [['login_error', 'locked']];
  if (type === 'login.locked')
    return [['login_error', (cause && FAILURE_REASONS[cause]) || 'invalid_credentials'], [detail.permanent ? 'lockout_permanent' : 'lockout']];
  if (type === 'password.changed') return [[detail.via === 'recovery' ? 'reset_password' : 'update_password']];
  const event = USER_EVENTS[type];
  return event ? [[event]] : [];
}
