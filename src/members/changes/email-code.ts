import type { Locale } from '../../i18n/index.js';
import { replaceLiveCode } from '../one-time-codes.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

/**
 * ワンタイムパスワード (OTP) メール認証: a new code in place of any live one (one at a time; its wrong
 * tries stay counted on the account), then the mail with it from the no-reply sender. The factor
 * (src/factors/email/) makes the code and its hash and applies the cooldown and hourly ceiling first.
 * False when the mail could not be delivered.
 */
export async function mailEmailCode(
  deps: Pick<ChangeDeps, 'sql' | 'mail'>,
  change: { member: NoticeMember; purpose: string; code: string; codeHash: string; seconds: number; locale: Locale },
): Promise<boolean> {
  const { member, code, seconds } = change;
  if (!member.email) return false;
  await replaceLiveCode(deps.sql, member.id, change.purpose, change.codeHash, seconds);
  const sent = await deps.mail.send({
    to: member.email,
    template: 'email_code',
    locale: change.locale,
    vars: { name: member.displayName, code, minutes: Math.round(seconds / 60) },
  });
  return sent.ok;
}
