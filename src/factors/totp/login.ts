import { acceptTotpTimeStep, credentialNames } from '../../members/credentials.js';
import { registerMemberFailure } from '../../members/lockout-store.js';
import { recordMemberEvent } from '../../members/events.js';
import type { FactorOutcome, Host, View } from '../types.js';
import { showView } from '../types.js';
import { verifyTotpCode } from './codes.js';
import { openTotpSecret, TOTP_AMR } from './secret.js';

async function devices(host: Host): Promise<{ id: string; label: string }[]> {
  return credentialNames(host.deps.sql, host.member.id, 'totp');
}

async function codePage(host: Host, vars: { selected?: string; errors?: string[]; codeInvalid?: boolean } = {}, status = 200): Promise<View> {
  const list = await devices(host);
  return {
    view: 'factor-totp-login',
    status,
    vars: { actionUrl: host.actionUrl, devices: list, selected: vars.selected ?? list[0]?.id, errors: vars.errors ?? [], codeInvalid: vars.codeInvalid },
  };
}

/** ワンタイムパスワードの入力: a member with several devices chooses one by the name they gave it (FAQ Q11). */
export function totpChallenge(host: Host): Promise<View> {
  return codePage(host);
}

type Check = 'accepted' | 'wrong' | 'no_device';

/**
 * Checks the code against the chosen device (one of this member's), then moves the device's last
 * accepted time step forward with a conditional update: of the same code sent twice at the same
 * moment, only the first is accepted (the login's hot path: two statements, no transaction).
 */
async function checkCode(host: Host, deviceId: string, typed: string): Promise<Check> {
  const { sql, config } = host.deps;
  const device = await sql.one<{ secret: string | null; lastTimeStep: string | null; label: string }>(
    `select secret, last_time_step as "lastTimeStep", label from credential where id = $1 and member_id = $2 and kind = 'totp'`, [deviceId, host.member.id]);
  if (!device?.secret) return 'no_device';
  const secret = openTotpSecret(config, host.member.id, device.secret);
  const check = await verifyTotpCode(secret, typed, device.lastTimeStep === null ? null : Number(device.lastTimeStep));
  if (!check.valid || !(await acceptTotpTimeStep(sql, deviceId, check.timeStep))) return 'wrong';
  await recordMemberEvent(sql, host.member.id, 'login.totp_ok', { device: device.label }, host.ip);
  return 'accepted';
}

export async function totpVerify(host: Host, input: Record<string, unknown>): Promise<FactorOutcome> {
  const { t } = host;
  const chosen = typeof input.device === 'string' && /^[0-9a-f-]{36}$/.test(input.device) ? input.device : '';
  const typed = typeof input.code === 'string' ? input.code.slice(0, 64) : '';
  // The form names the device (a hidden field for a member with one); checkCode makes sure it is theirs.
  const only = chosen ? undefined : await devices(host);
  const deviceId = chosen || (only?.length === 1 ? only[0]!.id : '');
  if (!deviceId) return showView(await codePage(host, { errors: [t('factor_totp.error_device_choice')] }, 400));
  if (!typed.trim()) return showView(await codePage(host, { selected: deviceId, errors: [t('factor_totp.error_code_required')], codeInvalid: true }, 400));

  const result = await checkCode(host, deviceId, typed);
  if (result === 'accepted') return { kind: 'verified', amr: TOTP_AMR, credentialId: deviceId };
  if (result === 'no_device') return showView(await codePage(host, { errors: [t('factor_totp.error_device_choice')] }, 400));
  // A wrong (or replayed) code counts toward the account's lockout, like a wrong password.
  const after = await registerMemberFailure(host.deps.sql, host.member.id, host.deps.config.union.lockout, { wrong: 'login.totp_wrong', ip: host.ip });
  if (after.lockedNow) return { kind: 'locked' };
  return showView(await codePage(host, { selected: deviceId, errors: [t('factor_totp.error_code'), t('factor_totp.error_code_hint')], codeInvalid: true }, 401));
}
