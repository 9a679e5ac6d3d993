import { render } from '../http/render.js';
import { registerMemberFailure } from '../members/lockout-store.js';
import { recordMemberEvent } from '../members/events.js';
import { withoutStep } from './owed.js';
import { Member } from '../db/entities/index.js';
import type { Step, StepRun } from './types.js';

function show(run: StepRun, vars: { errors?: string[] } = {}, status = 200): void {
  const t = run.ctx.state.t as (k: string) => string;
  render(run.ctx, 'step-birthdate', { actionUrl: run.actionUrl, errors: (vars.errors ?? []).map((k) => t(k)) }, status);
}

/** 生年月日の入力: first login only, the member proves who they are with their birth date (YYYYMMDD). */
export const birthdateStep: Step = {
  name: 'birthdate',
  async show(run) { show(run); },
  async submit(run, body) {
    const typed = typeof body.birthdate === 'string' ? body.birthdate.normalize('NFKC').replace(/[\s/-]/g, '') : '';
    if (!/^\d{8}$/.test(typed)) {
      show(run, { errors: [typed ? 'step_birthdate.error_format' : 'step_birthdate.error_required'] }, 400);
      return { kind: 'rendered' };
    }
    if (typed !== run.member.birthdate.replaceAll('-', '')) {
      const state = await registerMemberFailure(run.deps.sql, run.member.id, run.deps.config.union.lockout);
      await recordMemberEvent(run.deps.sql, run.member.id, state.lockedNow ? 'login.locked' : 'onboarding.birthdate_wrong', {}, run.ctx.ip);
      if (state.lockedNow) return { kind: 'locked' };
      show(run, { errors: ['step_birthdate.error_mismatch'] }, 400);
      return { kind: 'rendered' };
    }
    const em = run.deps.orm.em.fork();
    const member = await em.findOneOrFail(Member, { id: run.member.id });
    withoutStep(member, 'birthdate');
    member.failedLogins = 0;
    await em.flush();
    await recordMemberEvent(run.deps.sql, member.id, 'onboarding.birthdate_ok', {}, run.ctx.ip);
    return { kind: 'done' };
  },
};
