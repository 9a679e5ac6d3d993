import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AttemptPorts, FlowDeps } from '../../flow/ports.js';
import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { challengeOf, parseAuthenticationResponse, passkeyAuthenticationOptions, verifyPasskeyAuthentication } from './ceremony.js';
import { passkeyAmr, passkeyContext, spendChallenge, storedPasskey } from './relying-party.js';
import { counterView, invalidRegistrationView, retryView } from './views.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** 生体認証 after the password: the member's own passkeys are offered. */
export async function passkeyChallenge(host: Host): Promise<View> {
  const passkeys = await host.deps.credentials.list(host.member.id, 'passkey');
  const options = await passkeyAuthenticationOptions(passkeyContext(host.deps.config, host.actionUrl), passkeys.map(storedPasskey));
  return { view: 'factor-passkey-login', vars: { actionUrl: host.actionUrl, optionsJson: JSON.stringify(options), passkeys: passkeys.map((p) => p.label) } };
}

export type PasskeyOwner = { ok: true; memberId: string; credentialId: string } | { ok: false; reason: 'unknown_credential' | 'replayed' };

/**
 * Whose passkey an assertion was made with: its challenge is spent once, the credential must be
 * stored (and, when `memberId` is given, be that member's), and a user handle must name its owner.
 */
export async function passkeyOwner(
  deps: Pick<FlowDeps, 'passkeyChallenges' | 'credentials'>,
  response: AuthenticationResponseJSON,
  memberId: string | undefined,
): Promise<PasskeyOwner> {
  const challenge = challengeOf(response);
  if (!challenge || !(await spendChallenge(deps.passkeyChallenges, challenge))) return { ok: false, reason: 'replayed' };
  const found = await deps.credentials.findPasskey(response.id);
  if (!found || (memberId && found.memberId !== memberId)) return { ok: false, reason: 'unknown_credential' };
  const handle = response.response.userHandle ? Buffer.from(response.response.userHandle, 'base64url').toString('utf8') : undefined;
  if (handle && handle !== found.memberId) return { ok: false, reason: 'unknown_credential' };
  return { ok: true, memberId: found.memberId, credentialId: found.id };
}

export type AssertionCheck =
  | { ok: true; credentialId: string; amr: string[]; label: string }
  /** `invalid`: the signature, user verification or challenge does not hold; `counter`: a valid signature whose sign counter did not grow (possibly a clone). */
  | { ok: false; reason: 'unknown_credential' | 'invalid' | 'counter' };

/**
 * Checks an assertion for a flow on the ports of the transaction holding the owner's row lock (the
 * flow's `attempt`: nothing is accepted while the member is locked): the signature, user
 * verification and sign counter must hold; the counter moves forward under the credential's row
 * lock, with last use and backup state, and the use is recorded.
 */
export async function checkAssertion(
  tx: AttemptPorts,
  config: FlowDeps['config'],
  flowId: string,
  response: AuthenticationResponseJSON,
  owner: { memberId: string; credentialId: string },
  ip: string,
): Promise<AssertionCheck> {
  const credential = await tx.credentials.lockPasskey(owner.credentialId);
  if (!credential) return { ok: false, reason: 'unknown_credential' };
  const result = await verifyPasskeyAuthentication(passkeyContext(config, flowId), response, storedPasskey(credential));
  if (!result.ok && result.reason === 'counter') {
    await tx.audit.record(
      owner.memberId,
      'login.passkey_counter_not_increased',
      { label: credential.label, stored: credential.signCount, received: result.received },
      ip,
    );
    return { ok: false, reason: 'counter' };
  }
  if (!result.ok) return { ok: false, reason: 'invalid' };
  await tx.credentials.passkeyUsed(credential.id, { signCount: result.use.newSignCount, backedUp: result.use.backedUp });
  await tx.audit.record(owner.memberId, 'login.passkey_ok', { label: credential.label }, ip);
  // What the authenticator says now: a device-bound passkey may since have been synced.
  return {
    ok: true,
    credentialId: credential.id,
    amr: passkeyAmr({ backedUp: result.use.backedUp, deviceType: credential.deviceType }),
    label: credential.label,
  };
}

/** 生体認証's form: the browser's assertion, or why it failed. */
const verifyForm = z.object({ failure: field(64), response: field(32 * 1024) });

export async function passkeyVerify(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const input = verifyForm.parse(posted);
  if (input.failure) return showView(retryView(host));
  const response = parseAuthenticationResponse(input.response);
  if (!response) return showView(retryView(host));
  const owner = await passkeyOwner(host.deps, response, host.member.id);
  if (!owner.ok && owner.reason === 'replayed') return showView(retryView(host));
  // A passkey we do not hold for this member (deleted, or registered elsewhere): FAQ Q16's screen.
  if (!owner.ok) return showView(invalidRegistrationView(host));
  // A bad signature counts toward the lockout, like a wrong password.
  const checked = await host.attempt(owner.memberId, 'login.passkey_wrong', async (tx) => {
    const value = await checkAssertion(tx, host.deps.config, host.actionUrl, response, owner, host.ip);
    return { failed: !value.ok && value.reason === 'invalid', value };
  });
  if (checked.outcome === 'locked' || checked.failure?.lockedNow) return { kind: 'locked' };
  const check = checked.value;
  if (check.ok) return { kind: 'verified', amr: check.amr, credentialId: check.credentialId };
  // Not the password manager's doing: the authenticator's counter says it may have been copied.
  if (check.reason === 'counter') return showView(counterView(host));
  // A passkey we no longer hold, or a signature that does not verify: FAQ Q16's screen.
  return showView(invalidRegistrationView(host));
}
