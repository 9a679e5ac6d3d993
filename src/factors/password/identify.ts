import { hmac } from '../../crypto.js';
import { normalizeUserId } from '../../members/user-id.js';
import type { PasswordHolder } from '../../members/password.js';
import type { Identifier } from '../../flow/identify.js';

export interface PasswordLoginInput {
  userId: string;
  password: string;
}

/**
 * ユーザID and パスワード at the login page. The answer, and its timing, are the same whether or not
 * the user ID exists: an unknown one is the subject of its own lockout counters (keyed by an HMAC of
 * it), and every attempt costs one bcrypt (`identify` in flow/identify.ts counts and decides "locked").
 */
export const passwordIdentifier: Identifier<PasswordLoginInput, PasswordHolder> = {
  kind: 'password',
  amr: ['pwd'],
  standsAsSecondFactor: false,
  wrongEvent: 'login.password_wrong',
  async subjectOf({ deps }, input) {
    const userId = normalizeUserId(input.userId);
    // The member, their password and their lockout state in one indexed statement (the login's hot path).
    const member = userId.length > 0 && userId.length <= 64 ? await deps.credentials.passwordLogin(userId) : undefined;
    if (member) return { kind: 'member', memberId: member.id, lock: member.lock, authEpoch: member.authEpoch, found: member.holder };
    return { kind: 'unknown', key: hmac(deps.config.secretsKey, `login:${userId}`) };
  },
  equaliseTiming: ({ deps }, input) => deps.hasher.equaliseTiming(input.password),
  check: {
    async before({ deps, ip }, subject, input) {
      const valid = await deps.hasher.verify(subject.kind === 'member' ? subject.found : undefined, input.password);
      if (!valid || subject.kind !== 'member') return { kind: 'wrong' };
      // The failures are forgotten when the whole login completes (flow/login.ts finishLogin), not here:
      // otherwise re-entering the password would reset the count that wrong second-factor codes add to.
      await deps.audit.record(subject.memberId, 'login.password_ok', {}, ip);
      return { kind: 'proved', amr: ['pwd'] };
    },
  },
};
