import { registerMemberFailure, resetFailureCount } from '../members/lockout-store.js';
import { recordMemberEvent } from '../members/events.js';
import { parseTypedBirthdate } from '../members/birthdate.js';
import { withoutStep } from '../members/required-steps.js';
import { inTransaction } from '../db/unit-of-work.js';
import { Member } from '../db/entities/index.js';
import { show, type Host, type Step, type View } from './types.js';

function page(host: Host, errors: string[] = [], status = 200): View {
  return { view: 'step-birthdate', vars: { actionUrl: host.actionUrl, errors: errors.map((k) => host.t(k)) }, status };
}

/** 生年月日の入力: first login only, the member proves who they are with their birth date (YYYYMMDD). */
export const birthdateStep: Step = {
  name: 'birthdate',
  async show(host) { return page(host); },
  async submit(host, body) {
    const typed = parseTypedBirthdate(typeof body.birthdate === 'string' ? body.birthdate.slice(0, 40) : '');
    if (!typed.ok) return show(page(host, [typed.problem === 'required' ? 'step_birthdate.error_required' : 'step_birthdate.error_format'], 400));
    const { deps, member } = host;
    if (typed.iso !== String(member.birthdate)) {
      const state = await registerMemberFailure(deps.sql, member.id, deps.config.union.lockout);
      await recordMemberEvent(deps.sql, member.id, state.lockedNow ? 'login.locked' : 'onboarding.birthdate_wrong', {}, host.ip);
      if (state.lockedNow) return { kind: 'locked' };
      return show(page(host, ['step_birthdate.error_mismatch'], 400));
    }
    await inTransaction(deps.orm, async (work) => {
      const row = await work.em.findOneOrFail(Member, { id: member.id });
      withoutStep(row, 'birthdate');
      await work.em.flush();
      await resetFailureCount(work.sql, member.id);
      await recordMemberEvent(work.sql, member.id, 'onboarding.birthdate_ok', {}, host.ip);
    });
    return { kind: 'done' };
  },
};
