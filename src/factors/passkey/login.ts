import { LockMode } from '@mikro-orm/core';
import { Credential } from '../../db/entities/index.js';
import { inTransaction } from '../../db/unit-of-work.js';
import { listCredentials, touchCredential } from '../../members/credentials.js';
import { registerMemberFailure } from '../../members/lockout-store.js';
import { recordMemberEvent } from '../../members/events.js';
import type { Config } from '../../config/index.js';
import type { Sql } from '../../db/sql.js';
import type { Orm } from '../../db/orm.js';
import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { challengeOf, parseAuthenticationResponse, passkeyAuthenticationOptions, verifyPasskeyAuthentication } from './ceremony.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { passkeyAmr, passkeyContext, spendChallenge, storedPasskey } from './context.js';
import { invalidRegistrationView, retryView } from './views.js';

/** 生体認証 after the password: the member's own passkeys are offered. */
export async function passkeyChallenge(host: Host): Promise<View> {
  const passkeys = await listCredentials(host.deps.orm.em.fork(), host.member.id, 'passkey');
  const options = await passkeyAuthenticationOptions(passkeyContext(host.deps.config, host.actionUrl), passkeys.map(storedPasskey));
  return { view: 'factor-passkey-login', vars: { actionUrl: host.actionUrl, optionsJson: JSON.stringify(options), passkeys: passkeys.map((p) => p.label) } };
}

export type AssertionCheck =
  | { ok: true; memberId: string; credentialId: string; amr: string[]; label: string }
  | { ok: false; reason: 'unknown_credential' | 'invalid' | 'replayed' };

/**
 * Checks an assertion for a flow: the challenge is spent once, the credential must be stored (and,
 * when `memberId` is given, be that member's), the signature and user verification must hold, and
 * the sign counter moves forward under a row lock, with last use and backup state.
 */
export async function checkAssertion(deps: { config: Config; sql: Sql; orm: Orm }, flowId: string, response: AuthenticationResponseJSON, memberId: string | undefined, ip: string): Promise<AssertionCheck> {
  const challenge = challengeOf(response);
  if (!challenge || !(await spendChallenge(deps.sql, challenge))) return { ok: false, reason: 'replayed' };
  return inTransaction(deps.orm, async ({ em, sql }) => {
    const credential = await em.findOne(Credential, { webauthnId: response.id, kind: 'passkey' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const owner = credential ? (credential.member as unknown as { id: string }).id : undefined;
    if (!credential || (memberId && owner !== memberId)) return { ok: false, reason: 'unknown_credential' } as const;
    const handle = response.response.userHandle ? Buffer.from(response.response.userHandle, 'base64url').toString('utf8') : undefined;
    if (handle && handle !== owner) return { ok: false, reason: 'unknown_credential' } as const;
    const use = await verifyPasskeyAuthentication(passkeyContext(deps.config, flowId), response, storedPasskey(credential));
    if (!use) return { ok: false, reason: 'invalid' } as const;
    touchCredential(credential, { signCount: use.newSignCount, backedUp: use.backedUp });
    await em.flush();
    await recordMemberEvent(sql, owner!, 'login.passkey_ok', { label: credential.label }, ip);
    return { ok: true, memberId: owner!, credentialId: credential.id, amr: passkeyAmr(credential), label: credential.label } as const;
  });
}

export async function passkeyVerify(host: Host, input: Record<string, unknown>): Promise<FactorOutcome> {
  if (typeof input.failure === 'string' && input.failure) return showView(retryView(host));
  const response = parseAuthenticationResponse(input.response);
  if (!response) return showView(retryView(host));
  const check = await checkAssertion(host.deps, host.actionUrl, response, host.member.id, host.ip);
  if (check.ok) return { kind: 'verified', amr: check.amr, credentialId: check.credentialId };
  if (check.reason === 'replayed') return showView(retryView(host));
  // A passkey we do not hold for this member (deleted, or registered elsewhere), or a signature
  // that does not verify: FAQ Q16's screen; a bad signature also counts toward the lockout.
  if (check.reason === 'invalid') {
    const after = await registerMemberFailure(host.deps.sql, host.member.id, host.deps.config.union.lockout, { wrong: 'login.passkey_wrong', ip: host.ip });
    if (after.lockedNow) return { kind: 'locked' };
  }
  return showView(invalidRegistrationView(host));
}
