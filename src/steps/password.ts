import { render } from '../http/render.js';
import { checkNewPassword, type PasswordProblem } from '../members/password-policy.js';
import { recordMemberEvent } from '../members/events.js';
import { Member } from '../db/entities/index.js';
import { withoutStep } from './owed.js';
import type { Step, StepRun } from './types.js';

type T = (k: string, v?: Record<string, string | number>) => string;

export const PASSWORD_ERRORS: Record<PasswordProblem, string> = {
  required: 'step_password.error_required',
  too_short: 'step_password.error_too_short',
  too_long: 'step_password.error_too_long',
  invalid_chars: 'step_password.error_chars',
  mismatch: 'step_password.error_mismatch',
  same_as_user_id: 'step_password.error_same_as_user_id',
  same_as_current: 'step_password.error_same_as_current',
};

export function passwordPolicyVars(run: Pick<StepRun, 'deps'>) {
  const p = run.deps.config.union.password;
  return { min: p.minLength, max: p.maxLength, symbols: p.allowedSymbols };
}

function show(run: StepRun, errors: string[] = [], status = 200): void {
  const t = run.ctx.state.t as T;
  const vars = passwordPolicyVars(run);
  render(run.ctx, 'step-password', {
    actionUrl: run.actionUrl, policy: vars, userId: run.member.userId,
    errors: errors.map((k) => t(k, vars)),
  }, status);
}

/** Validates and stores a new password for the member; returns the problems, if any. */
export async function setNewPassword(run: Pick<StepRun, 'deps' | 'member'>, password: string, confirmation: string, finishesStep: boolean): Promise<PasswordProblem[]> {
  const { hasher, config, orm } = run.deps;
  const isCurrentPassword = password.length > 0 && password.length <= 1024 && await hasher.verify({ passwordHash: run.member.passwordHash ?? null, insuranceSymbol: run.member.insuranceSymbol, insuranceNumber: run.member.insuranceNumber, birthdate: String(run.member.birthdate) }, password);
  const problems = checkNewPassword(config.union.password, { password, confirmation, userId: run.member.userId, isCurrentPassword });
  if (problems.length) return problems;
  const hash = await hasher.hash(password);
  const em = orm.em.fork();
  const member = await em.findOneOrFail(Member, { id: run.member.id });
  member.passwordHash = hash;
  member.passwordCreatedAt = new Date();
  member.mustChangePassword = false;
  if (finishesStep) withoutStep(member, 'password');
  await em.flush();
  return [];
}

/** パスワードの変更: the initial derived password is replaced by the member's own and stops working. */
export const passwordStep: Step = {
  name: 'password',
  async show(run) { show(run); },
  async submit(run, body) {
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const confirmation = typeof body.password_confirmation === 'string' ? body.password_confirmation.slice(0, 1024) : '';
    const problems = await setNewPassword(run, password, confirmation, true);
    if (problems.length) { show(run, problems.map((p) => PASSWORD_ERRORS[p]), 400); return { kind: 'rendered' }; }
    await recordMemberEvent(run.deps.sql, run.member.id, 'password.changed', { via: 'onboarding' }, run.ctx.ip);
    return { kind: 'done' };
  },
};
