import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Identifier } from '../../flow/identify.js';
import { parseAuthenticationResponse } from './ceremony.js';
import { checkAssertion, passkeyOwner } from './login.js';

export interface PasskeyLoginInput {
  /** The browser's answer to the login page's ceremony (JSON). */
  response: unknown;
  /** Where the ceremony's challenge was bound (the login page's passkey path). */
  flowId: string;
}

/**
 * A passkey alone at the login page (its autofill or 「生体認証でログイン」). A user-verified passkey is
 * already two factors, so the login skips its second-factor stage. The assertion is checked under the
 * owner's row lock (nothing is accepted while they are locked); one that does not verify is no guess
 * at the member's secret, so only the client IP counts it (`identify` in flow/identify.ts).
 */
export const passkeyIdentifier: Identifier<PasskeyLoginInput, { response: AuthenticationResponseJSON; credentialId: string }> = {
  kind: 'passkey',
  amr: ['hwk', 'user'],
  standsAsSecondFactor: true,
  wrongEvent: 'login.passkey_wrong',
  async subjectOf({ deps }, input, only) {
    const response = parseAuthenticationResponse(input.response);
    const owner = response ? await passkeyOwner(deps, response, only) : undefined;
    if (!response || !owner?.ok) return { kind: 'nobody' };
    return { kind: 'member', memberId: owner.memberId, found: { response, credentialId: owner.credentialId } };
  },
  check: {
    async underLock(tx, { deps, ip }, subject, input) {
      const owner = { memberId: subject.memberId, credentialId: subject.found.credentialId };
      const check = await checkAssertion(tx, deps.config, input.flowId, subject.found.response, owner, ip);
      if (check.ok) return { kind: 'proved', amr: check.amr, credentialId: check.credentialId };
      return { kind: check.reason === 'counter' ? 'counter' : 'invalid' };
    },
  },
};
