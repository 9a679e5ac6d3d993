import type { UnionPolicy } from '../config/union.js';

/** bcrypt uses the first 72 bytes of a password and silently drops the rest. */
export const BCRYPT_MAX_BYTES = 72;

export type PasswordProblem = 'required' | 'too_short' | 'too_long' | 'invalid_chars' | 'mismatch' | 'same_as_user_id' | 'same_as_current';

/**
 * The union's password rules (default as the manual: 8–64 characters of ASCII letters, digits and
 * the listed symbols, not the user ID, not the current password). One problem per broken rule.
 */
export function checkNewPassword(
  policy: UnionPolicy['password'],
  input: { password: string; confirmation: string; userId: string; isCurrentPassword: boolean },
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
  if (password.toLowerCase() === input.userId.toLowerCase()) problems.push('same_as_user_id');
  if (input.isCurrentPassword) problems.push('same_as_current');
  if (password !== confirmation) problems.push('mismatch');
  return problems;
}
