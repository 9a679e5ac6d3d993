import type { Config } from '../config/index.js';
import type { Work } from '../db/unit-of-work.js';
import type { PasswordHasher, PasswordHolder } from './password.js';
import { checkNewPassword, type PasswordProblem } from './password-policy.js';
import { setPasswordCredential } from './credentials.js';
import { withoutStep } from './required-steps.js';
import { Member } from '../db/entities/index.js';

/** The policy in the words' variables: {min}, {max}, {symbols}. */
export function passwordPolicyVars(config: Config) {
  const p = config.union.password;
  return { min: p.minLength, max: p.maxLength, symbols: p.allowedSymbols };
}

/**
 * The rules every new password meets, wherever it is chosen (first login, reset link, console):
 * the union's policy, not the user ID, not the current password, typed twice alike.
 */
export async function newPasswordProblems(
  deps: { config: Config; hasher: PasswordHasher },
  holder: PasswordHolder & { userId: string; birthdate?: string },
  password: string,
  confirmation: string,
): Promise<PasswordProblem[]> {
  const isCurrentPassword = password.length > 0 && password.length <= 1024 && (await deps.hasher.verify(holder, password));
  return checkNewPassword(deps.config.union.password, { password, confirmation, userId: holder.userId, isCurrentPassword, birthdate: holder.birthdate });
}

/**
 * Stores the member's own password inside the caller's change: the credential, the initial password
 * no longer accepted, the owed 'password' step cleared.
 */
export async function storeNewPassword(work: Work, memberId: string, hash: string): Promise<void> {
  const member = await work.em.findOneOrFail(Member, { id: memberId });
  member.mustChangePassword = false;
  withoutStep(member, 'password');
  await setPasswordCredential(work.em, memberId, hash);
}
