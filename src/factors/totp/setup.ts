import { SecretUnreadableError } from '../../secrets.js';
import type { Host, View, FactorOutcome } from '../types.js';
import { showView } from '../types.js';
import { LABEL_MAX, labelProblem, labelTaken, normaliseLabel } from '../labels.js';
import { groupedSecret, newTotpSecret, verifyTotpCode } from './codes.js';
import { otpauthUri, qrCodeSvg } from './enrolment.js';
import { openTotpSecret, sealTotpSecret, TOTP_AMR } from './secret.js';
import { trustOfNewDevice } from '../acr.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** The apps the manual names (2-4-1, 2-4-2 and the setup screen of 3-6). */
export const TOTP_APPS = ['Google Authenticator', 'Microsoft Authenticator', 'FreeOTP'];
const PENDING = 'totp.pendingSecret';

/**
 * The secret being set up in this flow, sealed in its scratch storage so a reload shows the same QR
 * code. One sealed under a key no longer configured (SECRETS_KEY changed mid-setup, the old key
 * dropped) cannot be shown again: the setup starts over with a new secret and QR code.
 */
async function pendingSecret(host: Host): Promise<string> {
  const sealed = host.scratch.get<string>(PENDING);
  if (sealed) {
    try {
      return openTotpSecret(host.deps.config, host.member.id, sealed);
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
    }
  }
  const secret = newTotpSecret();
  await host.scratch.set(PENDING, sealTotpSecret(host.deps.config, host.member.id, secret));
  return secret;
}

async function setupPage(
  host: Host,
  vars: { deviceName?: string; errors?: string[]; codeInvalid?: boolean; deviceInvalid?: boolean } = {},
  status = 200,
): Promise<View> {
  const secret = await pendingSecret(host);
  // As the manual shows it: 「大和証券グループ健康保険組合加入者ページ:daiwakenpo_…」, the society's member site and the user ID.
  const issuer = host.t('factor_totp.app_issuer', { union: host.unionName });
  const uri = otpauthUri({ issuer, account: host.member.userId, secret });
  return {
    view: 'factor-totp-setup',
    status,
    vars: {
      actionUrl: host.actionUrl,
      apps: TOTP_APPS,
      qrSvg: await qrCodeSvg(uri, host.t('factor_totp.qr_label')),
      secretGrouped: groupedSecret(secret),
      account: host.member.userId,
      issuer,
      showKey: host.query.key === '1',
      deviceName: vars.deviceName ?? '',
      errors: vars.errors ?? [],
      codeInvalid: vars.codeInvalid,
      deviceInvalid: vars.deviceInvalid,
    },
  };
}

export function startTotpSetup(host: Host): Promise<View> {
  return setupPage(host);
}

/**
 * ワンタイムパスワードの設定, 「実行」: the first code from the app proves the app holds the
 * secret; the device is stored with its name and that code's time step (so it cannot be replayed).
 * A wrong code here is a typing matter (the member has already proved who they are), not a guess:
 * it does not count toward the lockout.
 */
/** ワンタイムパスワードの設定's form: the device's name and the first code it shows. */
const setupForm = z.object({ device_name: field(200), code: field(64) });

export async function finishTotpSetup(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const input = setupForm.parse(posted);
  const { t } = host;
  const label = normaliseLabel(input.device_name);
  const typed = input.code;
  const errors: string[] = [];
  let deviceInvalid = false;
  let codeInvalid = false;
  const problem = labelProblem(label);
  if (problem === 'required') errors.push(t('factor_totp.error_device_required'));
  if (problem === 'too_long') errors.push(t('factor_totp.error_device_long', { max: LABEL_MAX }));
  if (!problem) {
    const existing = (await host.deps.credentials.list(host.member.id, 'totp')).map((c) => c.label);
    if (labelTaken(label, existing)) errors.push(t('factor_totp.error_device_taken'));
  }
  deviceInvalid = errors.length > 0;
  const secret = await pendingSecret(host);
  let step: number | undefined;
  if (!typed.trim()) {
    errors.push(t('factor_totp.error_code_required'));
    codeInvalid = true;
  } else {
    const check = await verifyTotpCode(secret, typed, null, host.deps.clock.now().getTime() / 1000);
    if (check.valid) step = check.timeStep;
    else {
      errors.push(t('factor_totp.error_setup_code'), t('factor_totp.error_setup_code_hint'));
      codeInvalid = true;
    }
  }
  if (errors.length || step === undefined) {
    return showView(await setupPage(host, { deviceName: label, errors, codeInvalid, deviceInvalid }, 400));
  }

  const added = await host.deps.changes.addTotpDevice({
    member: host.member,
    label,
    sealedSecret: sealTotpSecret(host.deps.config, host.member.id, secret),
    timeStep: step,
    trustAcr: trustOfNewDevice('totp', host.sessionAcr),
    flow: host.flow,
    ip: host.ip,
  });
  if (!added.added) return showView(await setupPage(host, { deviceName: label, errors: [t('factor_totp.error_device_taken')], deviceInvalid: true }, 409));
  await host.scratch.set(PENDING, undefined);
  return { kind: 'verified', amr: TOTP_AMR, credentialId: added.credentialId };
}
