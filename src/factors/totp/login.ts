import type { AttemptPorts } from '../../flow/ports.js';
import { sealedKeyId, SecretUnreadableError } from '../../secrets.js';
import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { verifyTotpCode } from './codes.js';
import { openTotpSecret, TOTP_AMR } from './secret.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** A device to choose; `usable` is false when no configured key opens its secret any more (its SECRETS_KEY was lost). */
interface Device {
  id: string;
  label: string;
  usable: boolean;
  keyId?: string;
}

async function devices(host: Host): Promise<Device[]> {
  const list = await host.deps.credentials.withSecrets(host.member.id, 'totp');
  return list.map((c) => ({ id: c.id, label: c.label, usable: opens(host, c.secret), keyId: c.secret ? sealedKeyId(c.secret) : undefined }));
}

function opens(host: Host, sealed: string | null | undefined): boolean {
  if (!sealed) return false;
  try {
    openTotpSecret(host.deps.config, host.member.id, sealed);
    return true;
  } catch (err) {
    if (err instanceof SecretUnreadableError) return false;
    throw err;
  }
}

async function codePage(host: Host, vars: { selected?: string; errors?: string[]; codeInvalid?: boolean } = {}, status = 200, list?: Device[]): Promise<View> {
  const choices = list ?? (await devices(host));
  return {
    view: 'factor-totp-login',
    status,
    vars: {
      actionUrl: host.actionUrl,
      devices: choices.map(({ id, label, usable }) => ({ id, label, usable })),
      selected: vars.selected ?? (choices.find((d) => d.usable) ?? choices[0])?.id,
      errors: vars.errors ?? [],
      codeInvalid: vars.codeInvalid,
    },
  };
}

/**
 * A device the server can no longer read (its secret was sealed under a SECRETS_KEY that is gone):
 * no code can be checked, so the member is told, without blame, how to get in: another device, a
 * recovery code, or the society's 初期化 (manual 3-8, FAQ Q14). One error line for the operator
 * (ids only: no secret, no personal data) and an event in the member's trail for the help desk.
 */
async function unusablePage(host: Host, unusable: Device[], all: Device[]): Promise<View> {
  host.deps.log.error(
    { credentials: unusable.map((d) => d.id), keyIds: [...new Set(unusable.map((d) => d.keyId ?? 'none'))] },
    'TOTP device secret cannot be decrypted: sealed with a key that is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS; the member is asked to use a recovery code or have the device reset (`npm run admin -- secrets rotate` lists every such device)',
  );
  await host.deps.audit.record(host.member.id, 'login.totp_unreadable', { devices: unusable.map((d) => d.label) }, host.ip);
  const others = all.filter((d) => d.usable);
  return {
    view: 'factor-totp-unusable',
    status: 200,
    vars: { labels: unusable.map((d) => d.label), otherDeviceUrl: others.length > 0 ? host.actionUrl : undefined },
  };
}

/** ワンタイムパスワードの入力: a member with several devices chooses one by the name they gave it (FAQ Q11). */
export async function totpChallenge(host: Host): Promise<View> {
  const list = await devices(host);
  if (list.length > 0 && list.every((d) => !d.usable)) return unusablePage(host, list, list);
  return codePage(host, {}, 200, list);
}

type Check = 'accepted' | 'wrong' | 'no_device' | { unusable: Device };

/**
 * Checks the code against the chosen device (one of this member's), then moves the device's last
 * accepted time step forward with a conditional update: of the same code sent twice at the same
 * moment, only the first is accepted. Runs on the transaction that holds the member's row lock
 * (the flow's attempt, host.attempt), so the login's hot path is that lock, this read and one write recording
 * the step and its audit event together.
 */
async function checkCode(host: Host, tx: AttemptPorts, deviceId: string, typed: string): Promise<Check> {
  const { config, clock } = host.deps;
  const device = await tx.credentials.totpDevice(host.member.id, deviceId);
  if (!device?.secret) return 'no_device';
  let secret: string;
  try {
    secret = openTotpSecret(config, host.member.id, device.secret);
  } catch (err) {
    if (!(err instanceof SecretUnreadableError)) throw err;
    return { unusable: { id: deviceId, label: device.label, usable: false, keyId: err.keyId } };
  }
  const check = await verifyTotpCode(secret, typed, device.lastTimeStep, clock.now().getTime() / 1000);
  const accepted = check.valid && (await tx.credentials.acceptTotpTimeStep(deviceId, check.timeStep, { detail: { device: device.label }, ip: host.ip }));
  return accepted ? 'accepted' : 'wrong';
}

/** ワンタイムパスワードの入力's form: which device (when the member has several) and its code. */
const verifyForm = z.object({ device: field(64), code: field(64) });

export async function totpVerify(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const input = verifyForm.parse(posted);
  const { t } = host;
  const chosen = /^[0-9a-f-]{36}$/.test(input.device) ? input.device : '';
  const typed = input.code;
  // The form names the device (a hidden field for a member with one); checkCode makes sure it is theirs.
  const only = chosen ? undefined : await devices(host);
  const deviceId = chosen || (only?.length === 1 ? only[0]!.id : '');
  if (!deviceId) return showView(await codePage(host, { errors: [t('factor_totp.error_device_choice')] }, 400));
  if (!typed.trim()) return showView(await codePage(host, { selected: deviceId, errors: [t('factor_totp.error_code_required')], codeInvalid: true }, 400));

  // A wrong (or replayed) code counts toward the account's lockout, like a wrong password; no code
  // is checked while the member is locked.
  const attempt = await host.attempt(host.member.id, 'login.totp_wrong', async (tx) => {
    const value = await checkCode(host, tx, deviceId, typed);
    return { failed: value === 'wrong', value };
  });
  if (attempt.outcome === 'locked' || attempt.failure?.lockedNow) return { kind: 'locked' };
  const result = attempt.value;
  if (result === 'accepted') return { kind: 'verified', amr: TOTP_AMR, credentialId: deviceId };
  if (result === 'no_device') return showView(await codePage(host, { errors: [t('factor_totp.error_device_choice')] }, 400));
  // Not the member's doing: no code was checked, so nothing counts toward the lockout.
  if (typeof result === 'object') return showView(await unusablePage(host, [result.unusable], await devices(host)));
  return showView(
    await codePage(host, { selected: deviceId, errors: [t('factor_totp.error_code'), t('factor_totp.error_code_hint')], codeInvalid: true }, 401),
  );
}
