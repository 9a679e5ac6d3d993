import { checkChosenUserId, normalizeUserId, USER_ID_MAX, USER_ID_MIN } from '../members/user-id.js';
import type { SecondFactorKind } from '../members/credentials.js';
import { show, type Host, type Step, type View } from './types.js';
import { z } from 'zod';
import { field } from '../flow/form.js';

/** The words for each broken user-ID rule, here and in the console. */
export const USER_ID_ERRORS = {
  required: 'step_user_id.error_required',
  too_short: 'step_user_id.error_length',
  too_long: 'step_user_id.error_length',
  invalid_chars: 'step_user_id.error_chars',
} as const;

/** Lookups of a chosen user ID, per member and per client IP (an office shares one address). */
const LOOKUPS_PER_MEMBER = 20;
const LOOKUPS_PER_IP = 200;
const LOOKUP_WINDOW_SECONDS = 3600;

/**
 * Whether a user ID the member chose is already someone's. A chosen ID must say 「使用されています」,
 * so the answer tells whether that ID exists: each lookup counts against the member's and the client
 * IP's limits first, like every other check next to a secret, and over either the ID is not looked up.
 */
export async function chosenUserIdAvailability(host: Host, userId: string): Promise<'free' | 'taken' | 'too_many'> {
  const { rateLimits, members } = host.deps;
  const member = await rateLimits.hit(`user-id-lookup:${host.member.id}`, LOOKUPS_PER_MEMBER, LOOKUP_WINDOW_SECONDS);
  const ip = await rateLimits.hit(`user-id-lookup-ip:${host.ip}`, LOOKUPS_PER_IP, LOOKUP_WINDOW_SECONDS);
  if (!member.allowed || !ip.allowed) return 'too_many';
  return (await members.userIdTaken(userId)) ? 'taken' : 'free';
}

export const USER_ID_AVAILABILITY_ERRORS = { taken: 'step_user_id.error_taken', too_many: 'step_user_id.error_too_many' } as const;

function page(host: Host, vars: { userId?: string; method?: string; errors?: string[] } = {}, status = 200): View {
  return {
    view: 'step-user-id',
    vars: {
      actionUrl: host.actionUrl,
      userId: vars.userId ?? host.member.userId,
      method: vars.method ?? host.member.chosenFactor ?? '',
      methods: host.deps.config.union.authMethods,
      min: USER_ID_MIN,
      max: USER_ID_MAX,
      errors: [...new Set(vars.errors ?? [])].map((k) => host.t(k, { min: USER_ID_MIN, max: USER_ID_MAX })),
    },
    status,
  };
}

/** ユーザIDの設定・認証方法の選択: keep or choose a user ID, and choose the second factor. */
/** ユーザID・認証方法の設定's form; `platform_authenticator` is what the page's script found (yes/no). */
const stepForm = z.object({ user_id: field(200), method: field(16), platform_authenticator: field(8) });

export const userIdAndMethodStep: Step = {
  name: 'user_id_and_method',
  async show(host) {
    return page(host);
  },
  async submit(host, posted) {
    const body = stepForm.parse(posted);
    const typed = body.user_id;
    const userId = normalizeUserId(typed);
    const method = body.method;
    const errors: string[] = [];
    // Keeping the ID the union issued is allowed ("ユーザIDの変更は必須ではありません").
    const userIdProblems = userId !== host.member.userId ? checkChosenUserId(userId) : [];
    errors.push(...userIdProblems.map((p) => USER_ID_ERRORS[p]));
    const allowed = host.deps.config.union.authMethods as string[];
    if (!allowed.includes(method)) errors.push('step_user_id.error_method');
    // 生体認証 only where the browser can use passkeys (the page's script says so in platform_authenticator).
    else if (method === 'passkey' && body.platform_authenticator !== 'yes') errors.push('step_user_id.error_passkey_unavailable');
    // Every error at once: a taken ID is reported together with a missing method.
    const availability = userIdProblems.length === 0 && userId !== host.member.userId ? await chosenUserIdAvailability(host, userId) : 'free';
    if (availability !== 'free') errors.push(USER_ID_AVAILABILITY_ERRORS[availability]);
    if (errors.length) return show(page(host, { userId: typed, method, errors }, availability === 'too_many' ? 429 : 400));

    const chosen = await host.deps.changes.chooseUserIdAndMethod({ memberId: host.member.id, userId, method: method as SecondFactorKind, ip: host.ip });
    if (chosen === 'taken') return show(page(host, { userId: typed, method, errors: ['step_user_id.error_taken'] }, 409));
    return { kind: 'done' };
  },
};
