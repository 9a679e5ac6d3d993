import { LockMode } from '@mikro-orm/core';
import { Credential } from '../../db/entities/index.js';
import { listCredentials, touchCredential } from '../../members/credentials.js';
import type { ProofAttempt } from '../../flow/attempt.js';
import { recordMemberEvent } from '../../members/events.js';
import type { Config } from '../../config/index.js';
import type { Sql } from '../../db/sql.js';
import type { Orm } from '../../db/orm.js';
import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { challengeOf, parseAuthenticationResponse, passkeyAuthenticationOptions, verifyPasskeyAuthentication } from './ceremony.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { passkeyAmr, passkeyContext, spendChallenge, storedPasskey } from './context.js';
import { counterView, invalidRegistrationView, retryView } from './views.js';

/** 生体認証 after the password: the member's own passkeys are offered. */
export async function passkeyChallenge(host: Host): Promise<View> {
  const passkeys = await listCredentials(host.deps.orm.em.fork(), host.member.id, 'passkey');
  const options = await passkeyAuthenticationOptions(passkeyContext(host.deps.config, host.actionUrl), passkeys.map(storedPasskey));
  return { view: 'factor-passkey-login', vars: { actionUrl: host.actionUrl, optionsJson: JSON.stringify(options), passkeys: passkeys.map((p) => p.label) } };
}

export type AssertionCheck =
  | { ok: true; memberId: string; credentialId: string; amr: string[]; label: string }
  | { ok: false; reason: 'unknown_credential' | 'invalid' | 'replayed' }
  /** A valid signature with a sign counter that did not grow (possibly a clone), or a locked member. */
  | { ok: false; reason: 'counter' | 'locked'; memberId: string };

/**
 * Checks an assertion for a flow: the challenge is spent once, the credential must be stored (and,
 * when `memberId` is given, be that member's), then, under the owner's row lock
 * (the flow's `attempt`: nothing is accepted while the member is locked), the signature, user
 * verification and sign counter must hold; the counter moves forward under the credential's row
 * lock, with last use and backup state. `countFailure`: a bad signature counts toward the owner's
 * lockout (the passkey step after the password).
 */
export async function checkAssertion(
  deps: { config: Config; sql: Sql; orm: Orm },
  attempt: ProofAttempt,
  flowId: string,
  response: AuthenticationResponseJSON,
  memberId: string | undefined,
  ip: string,
  { countFailure = false } = {},
): Promise<AssertionCheck> {
  const challenge = challengeOf(response);
  if (!challenge || !(await spendChallenge(deps.sql, challenge))) return { ok: false, reason: 'replayed' };
  const found = await deps.orm.em.fork().findOne(Credential, { webauthnId: response.id, kind: 'passkey' });
  const owner = found ? (found.member as unknown as { id: string }).id : undefined;
  if (!found || !owner || (memberId && owner !== memberId)) return { ok: false, reason: 'unknown_credential' };
  const handle = response.response.userHandle ? Buffer.from(response.response.userHandle, 'base64url').toString('utf8') : undefined;
  if (handle && handle !== owner) return { ok: false, reason: 'unknown_credential' };
  const checked = await attempt(owner, 'login.passkey_wrong', async (sql, em) => {
    const credential = await em.findOne(Credential, { id: found.id, kind: 'passkey' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!credential) return { failed: false, value: { ok: false, reason: 'unknown_credential' } as AssertionCheck };
    const result = await verifyPasskeyAuthentication(passkeyContext(deps.config, flowId), response, storedPasskey(credential));
    if (!result.ok && result.reason === 'counter') {
      await recordMemberEvent(
        sql,
        owner,
        'login.passkey_counter_not_increased',
        { label: credential.label, stored: Number(credential.signCount ?? 0), received: result.received },
        ip,
      );
      return { failed: false, value: { ok: false, reason: 'counter', memberId: owner } as AssertionCheck };
    }
    if (!result.ok) return { failed: countFailure, value: { ok: false, reason: 'invalid' } as AssertionCheck };
    touchCredential(credential, { signCount: result.use.newSignCount, backedUp: result.use.backedUp });
    await em.flush();
    await recordMemberEvent(sql, owner, 'login.passkey_ok', { label: credential.label }, ip);
    return {
      failed: false,
      value: { ok: true, memberId: owner, credentialId: credential.id, amr: passkeyAmr(credential), label: credential.label } as AssertionCheck,
    };
  });
  if (checked.outcome === 'locked' || checked.failure?.lockedNow) return { ok: false, reason: 'locked', memberId: owner };
  return checked.value;
}

export async function passkeyVerify(host: Host, input: Record<string, unknown>): Promise<FactorOutcome> {
  if (typeof input.failure === 'string' && input.failure) return showView(retryView(host));
  const response = parseAuthenticationResponse(input.response);
  if (!response) return showView(retryView(host));
  // A bad signature counts toward the lockout, like a wrong password.
  const check = await checkAssertion(host.deps, host.attempt, host.actionUrl, response, host.member.id, host.ip, { countFailure: true });
  if (check.ok) return { kind: 'verified', amr: check.amr, credentialId: check.credentialId };
  if (check.reason === 'locked') return { kind: 'locked' };
  if (check.reason === 'replayed') return showView(retryView(host));
  // Not the password manager's doing: the authenticator's counter says it may have been copied.
  if (check.reason === 'counter') return showView(counterView(host));
  // A passkey we do not hold for this member (deleted, or registered elsewhere), or a signature
  // that does not verify: FAQ Q16's screen.
  return showView(invalidRegistrationView(host));
}
