import { ACR_PASSWORD_ONLY } from '../acr.js';
import type { Factor } from '../types.js';
import { newPasswordPage, setNewPassword } from './setup.js';
import { passwordChallengePage, verifyMemberPassword } from './verify.js';

/**
 * The member's password as a factor: asked again for re-authentication, set up at first login and
 * replaced from the console or a reset link. Identifying someone by user ID and password at the
 * login screen is `passwordIdentifier` (identify.ts), which must not tell whether the ID exists.
 */
export const passwordFactor: Factor = {
  kind: 'password',
  amr: ['pwd'],
  acr: ACR_PASSWORD_ONLY,
  async challenge(host) {
    return passwordChallengePage(host);
  },
  verify: verifyMemberPassword,
  async startSetup(host) {
    return newPasswordPage(host);
  },
  finishSetup: setNewPassword,
  summary(credential) {
    return { id: credential.id, kind: 'password', label: '', createdAt: credential.createdAt, lastUsedAt: credential.lastUsedAt ?? null };
  },
};
