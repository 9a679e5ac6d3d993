import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { inTransaction } from '../../db/unit-of-work.js';
import type { Locale } from '../../i18n/index.js';
import { sendSecurityNotice } from '../../mail/security-notice.js';
import { changeLanguage as storeLanguage, changeUserId, chooseSecondFactor } from '../account.js';
import type { SecondFactorKind } from '../credentials.js';
import type { ChangeDeps, NoticeMember } from './deps.js';

/** 言語: at once, with its event; no notice (nothing about the login changed). */
export async function changeLanguage(deps: ChangeDeps, change: { memberId: string; locale: Locale; ip: string }): Promise<void> {
  await inTransaction(deps.orm, (work) => storeLanguage(work, change.memberId, change.locale, change.ip));
}

/**
 * ユーザID and 認証方法 from the profile, together in one transaction, each with its event and, after
 * the commit, its notice. 'user_id_taken' when another member took the ID first (the unique index decides).
 */
export async function changeUserIdAndMethod(
  deps: ChangeDeps,
  change: { member: NoticeMember; userId?: string; method?: SecondFactorKind; ip: string },
): Promise<'changed' | 'user_id_taken'> {
  const { member, userId, method, ip } = change;
  try {
    await inTransaction(deps.orm, async (work) => {
      if (userId) await changeUserId(work, member.id, userId, ip);
      if (method) await chooseSecondFactor(work, member.id, method, ip);
    });
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return 'user_id_taken';
  }
  if (userId) await sendSecurityNotice(deps, member, 'user_id_changed');
  if (method) await sendSecurityNotice(deps, member, 'method_changed');
  return 'changed';
}
