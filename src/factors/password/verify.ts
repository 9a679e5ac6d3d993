import { isLocked } from '../../members/lockout.js';
import { registerMemberFailure } from '../../members/lockout-store.js';
import { showView, type FactorOutcome, type Host, type View } from '../types.js';
import { loadPasswordHolder } from './setup.js';

/** 続行するには再度認証してください: the password of a member who is already known. */
export function passwordChallengePage(host: Host, errors: string[] = [], status = 200): View {
  return { view: 'factor-password', vars: { actionUrl: host.actionUrl, userId: host.member.userId, errors: errors.map((k) => host.t(k)) }, status };
}

/** Checks the known member's password; a wrong one counts toward the account's lockout. */
export async function verifyMemberPassword(host: Host, input: Record<string, unknown>): Promise<FactorOutcome> {
  const password = typeof input.password === 'string' ? input.password.slice(0, 1024) : '';
  const { member, deps } = host;
  if (isLocked({ ...member, lockedUntil: member.lockedUntil ?? null }, new Date())) return { kind: 'locked' };
  const holder = await loadPasswordHolder(deps.sql, member.id);
  if (password && await deps.hasher.verify(holder, password)) return { kind: 'verified', amr: ['pwd'] };
  const after = await registerMemberFailure(deps.sql, member.id, deps.config.union.lockout, { wrong: 'reauth.password_wrong', ip: host.ip });
  if (after.lockedNow) return { kind: 'locked' };
  return showView(passwordChallengePage(host, [password ? 'factor_password.error_invalid' : 'factor_password.error_required'], 401));
}
