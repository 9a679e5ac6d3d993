import { parseTypedBirthdate } from '../members/birthdate.js';
import { show, type Host, type Step, type View } from './types.js';
import { z } from 'zod';
import { field } from '../flow/form.js';

/** From this many tries left, a wrong date says how many remain before the lock. */
const FEW_TRIES_LEFT = 2;

function page(host: Host, errors: string[] = [], status = 200, triesLeft = 0): View {
  return {
    view: 'step-birthdate',
    vars: { actionUrl: host.actionUrl, errors: errors.map((k) => host.t(k, { n: triesLeft })), maxFailures: host.deps.config.union.lockout.maxFailures },
    status,
  };
}

/** 生年月日の入力: first login only, the member proves who they are with their birth date (YYYYMMDD). */
/** 生年月日's form. */
const birthdateForm = z.object({ birthdate: field(40) });

export const birthdateStep: Step = {
  name: 'birthdate',
  async show(host) {
    return page(host);
  },
  async submit(host, posted) {
    const typed = parseTypedBirthdate(birthdateForm.parse(posted).birthdate);
    if (!typed.ok) return show(page(host, [typed.problem === 'required' ? 'step_birthdate.error_required' : 'step_birthdate.error_format'], 400));
    const { deps, member } = host;
    // Checked under the member's row lock, so parallel guesses are checked one at a time, at most
    // maxFailures per lock, and the right date is refused once the member is locked.
    const attempt = await host.attempt(member.id, 'onboarding.birthdate_wrong', async (tx) => {
      const right = typed.iso === String(member.birthdate);
      if (right) await tx.changes.confirmBirthdate(member.id, host.ip);
      return { failed: !right, value: right };
    });
    if (attempt.outcome === 'locked' || attempt.failure?.lockedNow) return { kind: 'locked' };
    if (attempt.failure) {
      const triesLeft = deps.config.union.lockout.maxFailures - attempt.failure.failedLogins;
      return show(page(host, [triesLeft <= FEW_TRIES_LEFT ? 'step_birthdate.error_mismatch_remaining' : 'step_birthdate.error_mismatch'], 400, triesLeft));
    }
    return { kind: 'done' };
  },
};
