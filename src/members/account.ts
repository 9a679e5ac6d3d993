import type { Work } from '../db/unit-of-work.js';
import { Member } from '../db/entities/index.js';
import type { Locale } from '../i18n/index.js';
import { recordMemberEvent } from './events.js';
import type { SecondFactorKind } from './credentials.js';

/** The changes a member makes in the account console, each in the caller's unit of work with its event. */

export async function changeLanguage(work: Work, memberId: string, locale: Locale, ip: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  if (member.locale === locale) return;
  member.locale = locale;
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'account.language_changed', { locale }, ip);
}

/** ユーザID変更: at once; `sub` stays, so portals keep the member. A taken ID throws UniqueConstraintViolationException. */
export async function changeUserId(work: Work, memberId: string, userId: string, ip: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  member.userId = userId;
  member.temporaryId = false;
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'account.user_id_changed', {}, ip);
}

/** 認証方法の変更: the method the next login asks for. */
export async function chooseSecondFactor(work: Work, memberId: string, kind: SecondFactorKind, ip: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  const previous = member.chosenFactor;
  member.chosenFactor = kind;
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'account.method_changed', { from: previous, to: kind }, ip);
}
