import { passwordFactor } from '../factors/index.js';
import type { Step } from './types.js';

/**
 * パスワードの変更: the initial derived password is replaced by the member's own and stops working.
 * The password factor's own setup, so the rules and words are those of every other password page.
 */
export const passwordStep: Step = {
  name: 'password',
  show: (host) => passwordFactor.startSetup(host),
  async submit(host, body) {
    const outcome = await passwordFactor.finishSetup(host, body);
    if (outcome.kind === 'verified') return { kind: 'done' };
    return outcome;
  },
};
