import type { Work } from '../db/unit-of-work.js';
import { Member } from '../db/entities/index.js';
import { recordMemberEvent } from './events.js';
import { resetFailureCount } from './lockout-store.js';
import { withoutStep } from './required-steps.js';
import type { SecondFactorKind } from './credentials.js';

/**
 * The changes the owed steps make to a member, each inside the caller's unit of work and with its
 * audit event. The console reuses `changeUserIdAndFactor`'s parts.
 */

export async function confirmBirthdate(work: Work, memberId: string, ip: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  withoutStep(member, 'birthdate');
  await work.em.flush();
  await resetFailureCount(work.sql, memberId);
  await recordMemberEvent(work.sql, memberId, 'onboarding.birthdate_ok', {}, ip);
}

export async function acceptTerms(work: Work, memberId: string, version: string, ip: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  member.termsVersion = version;
  member.termsAcceptedAt = new Date();
  withoutStep(member, 'terms');
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'terms.accepted', { version }, ip);
}

/** The address on file is already confirmed and the member keeps it. */
export async function keepConfirmedAddress(work: Work, memberId: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  withoutStep(member, 'email');
}

/** ユーザIDの設定・認証方法の選択. A user ID taken meanwhile throws UniqueConstraintViolationException. */
export async function chooseUserIdAndFactor(work: Work, memberId: string, userId: string, factor: SecondFactorKind, ip: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  const previous = member.userId;
  member.userId = userId;
  member.chosenFactor = factor;
  member.temporaryId = false;
  withoutStep(member, 'user_id_and_method');
  await work.em.flush();
  await recordMemberEvent(work.sql, memberId, 'onboarding.user_id_and_method', { changedUserId: previous !== userId, method: factor }, ip);
}
