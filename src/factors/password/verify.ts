import { isLocked } from '../../members/lockout.js';
import { failedProof } from '../../flow/attempt.js';
import { showView, type FactorOutcome, type Host, type View } from '../types.js';
import { z } from 'zod';
import { field, type PostedForm } from '../../flow/form.js';

/** 続行するには再度認証してください: the password of a member who is already known. */
export function passwordChallengePage(host: Host, errors: string[] = [], status = 200): View {
  return { view: 'factor-password', vars: { actionUrl: host.actionUrl, userId: host.member.userId, errors: errors.map((k) => host.t(k)) }, status };
}

/** Checks the known member's password; a wrong one counts toward the account's lockout. */
/** 現在のパスワード's form. */
const passwordForm = z.object({ password: field(1024) });

export async function verifyMemberPassword(host: Host, posted: PostedForm): Promise<FactorOutcome> {
  const { password } = passwordForm.parse(posted);
  const { member, deps } = host;
  if (isLocked({ ...member, lockedUntil: member.lockedUntil ?? null }, deps.clock.now())) return { kind: 'locked' };
  const holder = await deps.credentials.passwordHolder(member.id);
  if (password && (await deps.hasher.verify(holder, password))) return { kind: 'verified', amr: ['pwd'] };
  // Compared before the row lock (bcrypt is too slow to hold it); the flow counts the failure.
  const after = await host.attempt(member.id, 'reauth.password_wrong', failedProof);
  if (after.outcome === 'locked' || after.failure?.lockedNow) return { kind: 'locked' };
  return showView(passwordChallengePage(host, [password ? 'factor_password.error_invalid' : 'factor_password.error_required'], 401));
}
