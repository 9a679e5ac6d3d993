import type { UnionPolicy } from '../config/union.js';
import { blockedPasswordReason } from './password-blocklist.js';

/** bcrypt uses the first 72 bytes of a password and silently drops the rest. */
export const BCRYPT_MAX_BYTES = 72;

export type PasswordProblem =
  | 'required'
  | 'too_short'
  | 'too_long'
  | 'invalid_chars'
  | 'mismatch'
  | 'same_as_user_id'
  | 'same_as_current'
  | 'common'
  | 'personal';

/**
 * The union's password rules (default as the manual: 8–64 characters of ASCII letters, digits and
 * the listed symbols, not the user ID, not the current password), and none of the common passwords
 * nor one containing the member's user ID or birth date (password-blocklist.ts). One problem per broken rule.
 */
export function checkNewPassword(
  policy: UnionPolicy['password'],
  input: { password: string; confirmation: string; userId: string; isCurrentPassword: boolean; birthdate?: string },
): PasswordProblem[] {
  const { password, confirmation } = input;
  if (!password) return ['required'];
  const problems: PasswordProblem[] = [];
  const length = [...password].length;
  if (length < policy.minLength) problems.push('too_short');
  // bcrypt reads 72 bytes and ignores the rest: a longer password (¥ is two bytes in UTF-8) would
  // accept any ending, so it is refused with the same message as one over maxLength.
  if (length > policy.maxLength || Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_BYTES) problems.push('too_long');
  const allowed = new Set([...policy.allowedSymbols]);
  if ([...password].some((ch) => !/[A-Za-z0-9]/.test(ch) && !allowed.has(ch))) problems.push('invalid_chars');
  const sameAsUserId = password.toLowerCase() === input.userId.toLowerCase();
  if (sameAsUserId) problems.push('same_as_user_id');
  if (input.isCurrentPassword) problems.push('same_as_current');
  // One message is enough for a password already refused as the user ID or the current one.
  const blocked = sameAsUserId || input.isCurrentPassword ? undefined : blockedPasswordReason(password, { userId: input.userId, birthdate: input.birthdate });
  if (blocked) problems.push(blocked);
  if (password !== confirmation) problems.push('mismatch');
  return problems;
}
