import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { LABEL_MAX, labelProblem, labelTaken, normaliseLabel } from '../labels.js';
import { challengeOf, parseRegistrationResponse, passkeyRegistrationOptions, verifyPasskeyRegistration, type NewPasskey } from './ceremony.js';
import { passkeyAmr, passkeyContext, spendChallenge, storedPasskey } from './relying-party.js';
import { defaultPasskeyLabel } from './names.js';
import { alreadyRegisteredView, retryView } from './views.js';
import { trustOfNewDevice } from '../acr.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

const REGISTERED = 'passkey.registered';

/**
 * What a registration challenge is bound to: the page, the member and the browser session. One made
 * for member A's console (whose URL is the same for everyone) does not verify for member B, nor in
 * another session of A's.
 */
function registrationFlowId(host: Host): string {
  return `${host.actionUrl}|member:${host.member.id}|session:${host.sessionId ?? ''}`;
}

async function memberPasskeys(host: Host) {
  return host.deps.credentials.list(host.member.id, 'passkey');
}

/** セキュリティキーの登録: 「登録」 starts the browser's ceremony (this device, or a phone by QR code and Bluetooth). */
export async function startPasskeySetup(host: Host, errors: string[] = [], status = 200): Promise<View> {
  const existing = await memberPasskeys(host);
  const options = await passkeyRegistrationOptions(passkeyContext(host.deps.config, registrationFlowId(host)), host.member, existing.map(storedPasskey));
  return { view: 'factor-passkey-setup', status, vars: { actionUrl: host.actionUrl, optionsJson: JSON.stringify(options), errors } };
}

function labelPage(host: Host, label: string, errors: string[] = [], status = 200): View {
  return { view: 'factor-passkey-label', status, vars: { actionUrl: host.actionUrl, label, errors } };
}

/**
 * Two posts: the browser's registration (then 認証ラベルの登録 with a name proposed from the
 * authenticator's AAGUID), and the name (then the passkey is stored, and the setup is done).
 */
/**
 * 生体認証の設定's forms: the browser's registration (or why it failed: InvalidStateError is an
 * authenticator already registered), then 認証ラベルの登録's name (`step=label`).
 */
const setupForm = z.object({ step: field(16), failure: field(64), response: field(32 * 1024), label: field(200) });
type SetupForm = z.infer<typeof setupForm>;

export async function finishPasskeySetup(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const input = setupForm.parse(posted);
  if (input.step === 'label') return saveLabelled(host, input);
  if (input.failure === 'InvalidStateError') return showView(alreadyRegisteredView(host));
  if (input.failure) return showView(retryView(host));
  const response = parseRegistrationResponse(input.response);
  const challenge = response && challengeOf(response);
  if (!response || !challenge || !(await spendChallenge(host.deps.passkeyChallenges, challenge))) return showView(retryView(host));
  const registered = await verifyPasskeyRegistration(passkeyContext(host.deps.config, registrationFlowId(host)), response);
  if (!registered) return showView(retryView(host));
  const existing = await memberPasskeys(host);
  const label = defaultPasskeyLabel(
    registered.aaguid,
    registered.deviceType === 'multiDevice',
    host.t('factor_passkey.default_label'),
    existing.map((c) => c.label),
  );
  await host.scratch.set(REGISTERED, registered);
  return showView(labelPage(host, label));
}

async function saveLabelled(host: Host, input: SetupForm): Promise<FactorOutcome> {
  const { t } = host;
  const registered = host.scratch.get<NewPasskey>(REGISTERED);
  if (!registered) return showView(await startPasskeySetup(host));
  const label = normaliseLabel(input.label);
  const problem = labelProblem(label);
  if (problem)
    return showView(
      labelPage(
        host,
        label,
        [problem === 'required' ? t('factor_passkey.error_label_required') : t('factor_passkey.error_label_long', { max: LABEL_MAX })],
        400,
      ),
    );
  const existing = await memberPasskeys(host);
  if (
    labelTaken(
      label,
      existing.map((c) => c.label),
    )
  )
    return showView(labelPage(host, label, [t('factor_passkey.error_label_taken')], 409));
  const added = await host.deps.changes.addPasskey({
    member: host.member,
    label,
    passkey: registered,
    trustAcr: trustOfNewDevice('passkey', host.sessionAcr),
    flow: host.flow,
    ip: host.ip,
  });
  if (!added.added && added.reason === 'label_taken') return showView(labelPage(host, label, [t('factor_passkey.error_label_taken')], 409));
  // The same authenticator credential stored twice (a double post): start the registration over.
  if (!added.added) {
    await host.scratch.set(REGISTERED, undefined);
    return showView(await startPasskeySetup(host, [], 409));
  }
  await host.scratch.set(REGISTERED, undefined);
  return { kind: 'verified', amr: passkeyAmr(registered), credentialId: added.credentialId };
}
