import type { Logger } from 'pino';
import { formatDateTime, type Locale } from '../i18n/index.js';
import type { SecurityChange } from './mailer.js';

interface NoticeMailer {
  send(message: { to: string; template: 'security_notice'; locale: Locale; vars: Record<string, unknown> }): Promise<{ ok: boolean }>;
}

/** 2026年11月25日 23:05 (Japan time), or 25 November 2026 at 23:05 in English. */
export function noticeTime(locale: Locale, at = new Date()): string {
  return formatDateTime(locale, at) + (locale === 'ja' ? '（日本時間）' : ' (Japan time)');
}

/**
 * Tells the member, at their confirmed address, that their login details changed. Sent after the
 * change has committed; a failure is logged (the change stands) and never shown as the change failing.
 */
export async function sendSecurityNotice(
  deps: { mail: NoticeMailer; log: Logger },
  member: { email?: string | null; emailVerified: boolean; displayName: string; locale: string },
  change: SecurityChange,
  options: { to?: string } = {},
): Promise<void> {
  const to = options.to ?? (member.emailVerified ? member.email : null);
  if (!to) return;
  const locale = (member.locale === 'en' ? 'en' : 'ja') as Locale;
  const sent = await deps.mail
    .send({ to, template: 'security_notice', locale, vars: { name: member.displayName, change, when: noticeTime(locale) } })
    .catch(() => ({ ok: false }));
  if (!sent.ok) deps.log.warn({ change }, 'security notice not delivered');
}
