import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { inTransaction } from '../../db/unit-of-work.js';
import type { SecondFactorKind } from '../credentials.js';
import { acceptTerms as storeTermsAccepted, chooseUserIdAndFactor, keepConfirmedAddress as storeAddressKept } from '../onboarding.js';
import type { ChangeDeps } from './deps.js';

/** The owed steps' changes (src/steps/), each one transaction with its event. */

/** 利用規約への同意: the version accepted, the step done. */
export async function acceptTerms(deps: Pick<ChangeDeps, 'orm'>, change: { memberId: string; version: string; ip: string }): Promise<void> {
  await inTransaction(deps.orm, (work) => storeTermsAccepted(work, change.memberId, change.version, change.ip));
}

/** メールアドレスの更新: the confirmed address on file is kept, the step done. */
export async function keepConfirmedAddress(deps: Pick<ChangeDeps, 'orm'>, change: { memberId: string }): Promise<void> {
  await inTransaction(deps.orm, (work) => storeAddressKept(work, change.memberId));
}

/** ユーザIDの設定・認証方法の選択; 'taken' when another member took the user ID first (the unique index decides). */
export async function chooseUserIdAndMethod(
  deps: Pick<ChangeDeps, 'orm'>,
  change: { memberId: string; userId: string; method: SecondFactorKind; ip: string },
): Promise<'chosen' | 'taken'> {
  try {
    await inTransaction(deps.orm, (work) => chooseUserIdAndFactor(work, change.memberId, change.userId, change.method, change.ip));
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return 'taken';
  }
  return 'chosen';
}
