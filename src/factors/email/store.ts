import { LockMode, type EntityManager } from '@mikro-orm/core';
import { Member, OneTimeCode } from '../../db/entities/index.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { hitRateLimit, restartRateLimit } from '../../db/rate-limit.js';
import type { Host } from '../types.js';
import { emailCodeMatches, hashEmailCode, newEmailCode } from './codes.js';

/** How the codes' rows are marked in one_time_code (a stored value, spelled as when it was first written). */
export const EMAIL_CODE_PURPOSE = 'email_otp';

export type IssueResult =
  | { ok: true }
  | { ok: false; reason: 'cooldown' | 'hourly_limit'; seconds: number }
  | { ok: false; reason: 'send_failed' | 'no_address' };

/**
 * Mails a new code to the member's confirmed address. Any earlier code stops working (one live
 * code at a time), but its wrong tries stay counted on the account: a new code never resets the lockout.
 * `firstOfLogin`: the first code a login asks for is sent whatever the cooldown (a member who logs
 * in at a second portal right after the first gets a code), and starts the cooldown that holds
 * 「再送信」 back; the hourly ceiling (`emailOtp.maxMailsPerHour`) counts every mail.
 */
export async function issueEmailCode(host: Host, { firstOfLogin = false } = {}): Promise<IssueResult> {
  const { member, deps } = host;
  const policy = deps.config.union.emailOtp;
  if (!member.email || !member.emailVerified) return { ok: false, reason: 'no_address' };
  const cooldownBucket = `email-otp-send:${member.id}`;
  if (!firstOfLogin) {
    // The cooldown is a counter of one per window, so two resends at the same moment send one mail.
    const cooldown = await hitRateLimit(deps.sql, cooldownBucket, 1, policy.resendCooldownSeconds);
    if (!cooldown.allowed) return { ok: false, reason: 'cooldown', seconds: cooldown.retryAfterSeconds };
  }
  const hourly = await hitRateLimit(deps.sql, `email-otp-hour:${member.id}`, policy.maxMailsPerHour, 3600);
  if (!hourly.allowed) return { ok: false, reason: 'hourly_limit', seconds: hourly.retryAfterSeconds };
  if (firstOfLogin) await restartRateLimit(deps.sql, cooldownBucket, policy.resendCooldownSeconds);

  const code = newEmailCode();
  await inTransaction(deps.orm, async ({ em }) => {
    await em.nativeUpdate(
      OneTimeCode,
      { member: member.id, purpose: EMAIL_CODE_PURPOSE, usedAt: null, expiresAt: { $gt: new Date() } },
      { expiresAt: new Date() },
    );
    em.create(OneTimeCode, {
      member: em.getReference(Member, member.id),
      purpose: EMAIL_CODE_PURPOSE,
      codeHash: hashEmailCode(deps.config.secretsKey, member.id, code),
      attempts: 0,
      expiresAt: new Date(Date.now() + policy.codeSeconds * 1000),
    } as never);
    await em.flush();
  });
  const sent = await deps.mail.send({
    to: member.email,
    template: 'email_otp',
    locale: host.locale,
    vars: { name: member.displayName, code, minutes: Math.round(policy.codeSeconds / 60) },
  });
  return sent.ok ? { ok: true } : { ok: false, reason: 'send_failed' };
}

/**
 * `used`: the code was right once and has been spent (by an earlier login): said as such, not as
 * "expired", and counted as nothing (the member typed a code we mailed them).
 */
export type CodeCheck = 'accepted' | 'wrong' | 'used_up' | 'expired' | 'used';

/** How far back a spent code is still recognised as "used" rather than wrong. */
const USED_CODES_REMEMBERED_SECONDS = 3600;

/**
 * Checks a typed code against the member's live code under a row lock, in the caller's transaction
 * (`em`: the one holding the member's row lock, src/members/lockout-store.ts withMemberAttempt): a
 * code is accepted once, and each wrong try is counted on the code (it stops working after `maxAttempts`).
 */
export async function checkEmailCode(host: Host, em: EntityManager, typed: string): Promise<CodeCheck> {
  const { member, deps } = host;
  const max = deps.config.union.emailOtp.maxAttempts;
  const live = await em.findOne(
    OneTimeCode,
    { member: member.id, purpose: EMAIL_CODE_PURPOSE, usedAt: null },
    { orderBy: { createdAt: 'desc' }, lockMode: LockMode.PESSIMISTIC_WRITE },
  );
  const usable = live !== null && live.expiresAt > new Date() && live.attempts < max;
  if (usable && emailCodeMatches(deps.config, member.id, typed, live.codeHash)) {
    live.usedAt = new Date();
    await em.flush();
    return 'accepted';
  }
  if (await matchesSpentCode(host, em, typed)) return 'used';
  if (!live || live.expiresAt <= new Date()) return 'expired';
  if (live.attempts >= max) return 'used_up';
  live.attempts += 1;
  await em.flush();
  return live.attempts >= max ? 'used_up' : 'wrong';
}

async function matchesSpentCode(host: Host, em: EntityManager, typed: string): Promise<boolean> {
  const { member, deps } = host;
  const spent = await em.find(
    OneTimeCode,
    { member: member.id, purpose: EMAIL_CODE_PURPOSE, usedAt: { $ne: null, $gt: new Date(Date.now() - USED_CODES_REMEMBERED_SECONDS * 1000) } },
    { orderBy: { usedAt: 'desc' }, limit: 5 },
  );
  return spent.some((c) => emailCodeMatches(deps.config, member.id, typed, c.codeHash));
}

/** Whether the member has a code that can still be entered (then a reload does not mail another). */
export async function hasLiveEmailCode(host: Host): Promise<boolean> {
  const live = await host.deps.orm.em
    .fork()
    .findOne(OneTimeCode, { member: host.member.id, purpose: EMAIL_CODE_PURPOSE, usedAt: null, expiresAt: { $gt: new Date() } });
  return live !== null && live.attempts < host.deps.config.union.emailOtp.maxAttempts;
}
