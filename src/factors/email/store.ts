import { EMAIL_CODE_PURPOSE } from '../../members/one-time-codes.js';
import type { AttemptPorts, MailedCodeCheck } from '../../flow/ports.js';
import type { Host } from '../types.js';
import { emailCodeMatches, hashEmailCode, newEmailCode } from './codes.js';

/** How the codes' rows are marked in one_time_code (a stored value, spelled as when it was first written). */
export { EMAIL_CODE_PURPOSE };

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
  const cooldownBucket = `email-send:${member.id}`;
  if (!firstOfLogin) {
    // The cooldown is a counter of one per window, so two resends at the same moment send one mail.
    const cooldown = await deps.rateLimits.hit(cooldownBucket, 1, policy.resendCooldownSeconds);
    if (!cooldown.allowed) return { ok: false, reason: 'cooldown', seconds: cooldown.retryAfterSeconds };
  }
  const hourly = await deps.rateLimits.hit(`email-hour:${member.id}`, policy.maxMailsPerHour, 3600);
  if (!hourly.allowed) return { ok: false, reason: 'hourly_limit', seconds: hourly.retryAfterSeconds };
  if (firstOfLogin) await deps.rateLimits.restart(cooldownBucket, policy.resendCooldownSeconds);

  const code = newEmailCode();
  const sent = await deps.changes.mailEmailCode({
    member,
    purpose: EMAIL_CODE_PURPOSE,
    code,
    codeHash: hashEmailCode(deps.config.secretsKey, member.id, code),
    seconds: policy.codeSeconds,
    locale: host.locale,
  });
  return sent ? { ok: true } : { ok: false, reason: 'send_failed' };
}

export type CodeCheck = MailedCodeCheck;

/**
 * Checks a typed code against the member's live code, on the ports of the transaction holding the
 * member's row lock (host.attempt): a code is accepted once, and each wrong try is counted on the
 * code (it stops working after `maxAttempts`). A code mailed just before SECRETS_KEY changed still matches.
 */
export function checkEmailCode(host: Host, tx: AttemptPorts, typed: string): Promise<CodeCheck> {
  const { member, deps } = host;
  return tx.codes.check(member.id, EMAIL_CODE_PURPOSE, {
    matches: (codeHash) => emailCodeMatches(deps.config, member.id, typed, codeHash),
    maxAttempts: deps.config.union.emailOtp.maxAttempts,
  });
}

/** Whether the member has a code that can still be entered (then a reload does not mail another). */
export function hasLiveEmailCode(host: Host): Promise<boolean> {
  return host.deps.codes.hasLive(host.member.id, EMAIL_CODE_PURPOSE, host.deps.config.union.emailOtp.maxAttempts);
}
