import { LockMode } from '@mikro-orm/core';
import { Member, OneTimeCode } from '../../db/entities/index.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { hitRateLimit } from '../../db/rate-limit.js';
import type { Host } from '../types.js';
import { emailCodeMatches, hashEmailCode, newEmailCode } from './codes.js';

export const EMAIL_OTP_PURPOSE = 'email_otp';
/** Mails one member may be sent per hour, whatever the cooldown: a ceiling on what a password alone can trigger. */
const MAILS_PER_HOUR = 10;

export type IssueResult = { ok: true } | { ok: false; reason: 'cooldown' | 'hourly_limit'; seconds: number } | { ok: false; reason: 'send_failed' | 'no_address' };

/**
 * Mails a new code to the member's confirmed address. Any earlier code stops working (one live
 * code at a time), but its wrong tries stay counted on the account: a new code never resets the lockout.
 */
export async function issueEmailCode(host: Host): Promise<IssueResult> {
  const { member, deps } = host;
  const policy = deps.config.union.emailOtp;
  if (!member.email || !member.emailVerified) return { ok: false, reason: 'no_address' };
  // The cooldown is a counter of one per window, so two resends at the same moment send one mail.
  const cooldown = await hitRateLimit(deps.sql, `email-otp-send:${member.id}`, 1, policy.resendCooldownSeconds);
  if (!cooldown.allowed) return { ok: false, reason: 'cooldown', seconds: cooldown.retryAfterSeconds };
  const hourly = await hitRateLimit(deps.sql, `email-otp-hour:${member.id}`, MAILS_PER_HOUR, 3600);
  if (!hourly.allowed) return { ok: false, reason: 'hourly_limit', seconds: hourly.retryAfterSeconds };

  const code = newEmailCode();
  await inTransaction(deps.orm, async ({ em }) => {
    await em.nativeUpdate(OneTimeCode, { member: member.id, purpose: EMAIL_OTP_PURPOSE, usedAt: null, expiresAt: { $gt: new Date() } }, { expiresAt: new Date() });
    em.create(OneTimeCode, {
      member: em.getReference(Member, member.id), purpose: EMAIL_OTP_PURPOSE, codeHash: hashEmailCode(deps.config.secretsKey, member.id, code),
      attempts: 0, expiresAt: new Date(Date.now() + policy.codeSeconds * 1000),
    } as never);
    await em.flush();
  });
  const sent = await deps.mail.send({
    to: member.email, template: 'email_otp', locale: host.locale,
    vars: { name: member.displayName, code, minutes: Math.round(policy.codeSeconds / 60) },
  });
  return sent.ok ? { ok: true } : { ok: false, reason: 'send_failed' };
}

export type CodeCheck = 'accepted' | 'wrong' | 'used_up' | 'expired';

/**
 * Checks a typed code against the member's live code under a row lock: a code is accepted once,
 * and each wrong try is counted on the code (it stops working after `maxAttempts`).
 */
export async function checkEmailCode(host: Host, typed: string): Promise<CodeCheck> {
  const { member, deps } = host;
  const max = deps.config.union.emailOtp.maxAttempts;
  return inTransaction(deps.orm, async ({ em }) => {
    const live = await em.findOne(OneTimeCode, { member: member.id, purpose: EMAIL_OTP_PURPOSE, usedAt: null }, { orderBy: { createdAt: 'desc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!live || live.expiresAt <= new Date()) return 'expired';
    if (live.attempts >= max) return 'used_up';
    if (emailCodeMatches(deps.config, member.id, typed, live.codeHash)) {
      live.usedAt = new Date();
      await em.flush();
      return 'accepted';
    }
    live.attempts += 1;
    await em.flush();
    return live.attempts >= max ? 'used_up' : 'wrong';
  });
}

/** Whether the member has a code that can still be entered (then a reload does not mail another). */
export async function hasLiveEmailCode(host: Host): Promise<boolean> {
  const live = await host.deps.orm.em.fork().findOne(OneTimeCode, { member: host.member.id, purpose: EMAIL_OTP_PURPOSE, usedAt: null, expiresAt: { $gt: new Date() } });
  return live !== null && live.attempts < host.deps.config.union.emailOtp.maxAttempts;
}
