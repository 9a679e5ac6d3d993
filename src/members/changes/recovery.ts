import { hitRateLimit } from '../../db/rate-limit.js';
import { inTransaction } from '../../db/unit-of-work.js';
import type { Locale } from '../../i18n/index.js';
import { recordMemberEvent } from '../events.js';
import { issuePasswordReset } from '../password-reset.js';
import type { ChangeDeps } from './deps.js';

/**
 * Counted in PostgreSQL, so every process shares them. Past the per-user-ID and per-address limits
 * the answer stays the same and only the mail is skipped (nothing tells whether an account exists);
 * past the per-IP limit the page says so.
 */
export const RECOVERY_LIMITS = { perUserId: 5, perAddress: 5, perIp: 30, windowSeconds: 15 * 60 };

type Recovery = Pick<ChangeDeps, 'sql'>;

/** One more recovery request from this client IP (both forms share the count); false past the limit. */
export async function countRecoveryFromIp(deps: Recovery, ip: string): Promise<boolean> {
  return (await hitRateLimit(deps.sql, `recovery-ip:${ip}`, RECOVERY_LIMITS.perIp, RECOVERY_LIMITS.windowSeconds)).allowed;
}

/** One more reset link asked for this user ID; false past the limit. */
export async function countPasswordResetRequest(deps: Recovery, userId: string): Promise<boolean> {
  return (await hitRateLimit(deps.sql, `recovery-password:${userId}`, RECOVERY_LIMITS.perUserId, RECOVERY_LIMITS.windowSeconds)).allowed;
}

/** One more user ID reminder asked for this address; false past the limit. */
export async function countUserIdReminderRequest(deps: Recovery, email: string): Promise<boolean> {
  return (await hitRateLimit(deps.sql, `recovery-user-id:${email}`, RECOVERY_LIMITS.perAddress, RECOVERY_LIMITS.windowSeconds)).allowed;
}

/** Where a recovery mail is asked for: its language, the union's name, the client IP. */
export interface RecoveryRequest {
  locale: string;
  unionName?: string;
  ip: string;
}

/**
 * Looks the user ID up and, for a member with a confirmed address within the limits, mails the
 * 「パスワードをリセット」 link, with its event. `mayMail` false (the user ID's limit is spent): the
 * lookup still runs, so the time taken tells nothing.
 */
export async function mailPasswordResetLink(deps: ChangeDeps, userId: string, mayMail: boolean, request: RecoveryRequest): Promise<void> {
  const member = await deps.sql.one<{ id: string; email: string; display_name: string; user_id: string }>(
    'select id, email, display_name, user_id from member where user_id = $1 and email is not null and email_verified',
    [userId],
  );
  if (!member || !mayMail) return;
  const perAddress = await hitRateLimit(deps.sql, `recovery-mail:${member.email}`, RECOVERY_LIMITS.perAddress, RECOVERY_LIMITS.windowSeconds);
  if (!perAddress.allowed) return;
  const seconds = deps.config.union.mail.passwordResetSeconds;
  const token = await inTransaction(deps.orm, async ({ sql: tx }) => {
    const issued = await issuePasswordReset(tx, member.id, seconds);
    await recordMemberEvent(tx, member.id, 'recovery.password_link_sent', {}, request.ip);
    return issued;
  });
  await deps.mail.send({
    to: member.email,
    template: 'password_reset',
    locale: request.locale as Locale,
    vars: {
      name: member.display_name,
      userId: member.user_id,
      link: `${deps.config.issuer}/recovery/password/reset/${token}`,
      minutes: Math.max(1, Math.round(seconds / 60)),
      unionName: request.unionName,
    },
  });
}

/** Mails the user ID, with its event, to a member whose confirmed address and birth date match. */
export async function mailUserIdReminder(deps: ChangeDeps, email: string, birthdate: string, request: RecoveryRequest): Promise<void> {
  const member = await deps.sql.one<{ id: string; display_name: string; user_id: string }>(
    'select id, display_name, user_id from member where email = $1 and email_verified and birthdate = $2::date',
    [email, birthdate],
  );
  if (!member) return;
  await recordMemberEvent(deps.sql, member.id, 'recovery.user_id_sent', {}, request.ip);
  await deps.mail.send({
    to: email,
    template: 'user_id_reminder',
    locale: request.locale as Locale,
    vars: { name: member.display_name, userId: member.user_id, unionName: request.unionName },
  });
}
