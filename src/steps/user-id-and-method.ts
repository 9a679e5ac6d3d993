import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { render } from '../http/render.js';
import { checkChosenUserId, normalizeUserId, USER_ID_MAX, USER_ID_MIN } from '../members/user-id.js';
import { recordMemberEvent } from '../members/events.js';
import { Member } from '../db/entities/index.js';
import { withoutStep } from './owed.js';
import type { Step, StepRun } from './types.js';

type T = (k: string, v?: Record<string, string | number>) => string;

const USER_ID_ERRORS = {
  required: 'step_user_id.error_required',
  too_short: 'step_user_id.error_length',
  too_long: 'step_user_id.error_length',
  invalid_chars: 'step_user_id.error_chars',
} as const;

function show(run: StepRun, vars: { userId?: string; method?: string; errors?: string[] } = {}, status = 200): void {
  const t = run.ctx.state.t as T;
  render(run.ctx, 'step-user-id', {
    actionUrl: run.actionUrl,
    userId: vars.userId ?? run.member.userId,
    method: vars.method ?? run.member.authMethod ?? '',
    methods: run.deps.config.union.authMethods,
    min: USER_ID_MIN, max: USER_ID_MAX,
    errors: [...new Set(vars.errors ?? [])].map((k) => t(k, { min: USER_ID_MIN, max: USER_ID_MAX })),
  }, status);
}

/** ユーザIDの設定・認証方法の選択: keep or choose a user ID, and choose the second factor. */
export const userIdAndMethodStep: Step = {
  name: 'user_id_and_method',
  async show(run) { show(run); },
  async submit(run, body) {
    const typed = typeof body.user_id === 'string' ? body.user_id.slice(0, 200) : '';
    const userId = normalizeUserId(typed);
    const method = typeof body.method === 'string' ? body.method : '';
    const errors: string[] = [];
    // Keeping the ID the union issued is allowed ("ユーザIDの変更は必須ではありません").
    if (userId !== run.member.userId) errors.push(...checkChosenUserId(userId).map((p) => USER_ID_ERRORS[p]));
    const allowed = run.deps.config.union.authMethods as string[];
    if (!allowed.includes(method)) errors.push('step_user_id.error_method');
    // 生体認証 only where the browser reported a platform authenticator (the page's script says so).
    else if (method === 'passkey' && body.platform_authenticator !== 'yes') errors.push('step_user_id.error_passkey_unavailable');
    if (errors.length === 0 && userId !== run.member.userId) {
      const taken = await run.deps.sql.one('select 1 from member where user_id = $1', [userId]);
      if (taken) errors.push('step_user_id.error_taken');
    }
    if (errors.length) { show(run, { userId: typed, method, errors }, 400); return { kind: 'rendered' }; }

    const em = run.deps.orm.em.fork();
    const member = await em.findOneOrFail(Member, { id: run.member.id });
    const previous = member.userId;
    member.userId = userId;
    member.authMethod = method;
    member.temporaryId = false;
    withoutStep(member, 'user_id_and_method');
    try {
      await em.flush();
    } catch (err) {
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
      show(run, { userId: typed, method, errors: ['step_user_id.error_taken'] }, 409);
      return { kind: 'rendered' };
    }
    await recordMemberEvent(run.deps.sql, member.id, 'onboarding.user_id_and_method', { changedUserId: previous !== userId, method }, run.ctx.ip);
    return { kind: 'done' };
  },
};
