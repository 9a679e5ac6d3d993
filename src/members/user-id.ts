/** User IDs are case-insensitive: typed uppercase is accepted and treated as lowercase. */
export function normalizeUserId(input: string): string {
  return input.trim().normalize('NFKC').toLowerCase();
}

export const USER_ID_MIN = 8;
export const USER_ID_MAX = 13;
export const USER_ID_PATTERN = /^[a-z0-9\-_.@]+$/;

export type UserIdProblem = 'required' | 'too_short' | 'too_long' | 'invalid_chars';

/** Rules for a user ID the member chooses (the manual: 8–13 letters, digits, - _ . @). */
export function checkChosenUserId(normalized: string): UserIdProblem[] {
  if (normalized.length === 0) return ['required'];
  const problems: UserIdProblem[] = [];
  if (normalized.length < USER_ID_MIN) problems.push('too_short');
  if (normalized.length > USER_ID_MAX) problems.push('too_long');
  if (!USER_ID_PATTERN.test(normalized)) problems.push('invalid_chars');
  return problems;
}

/** Administrators may provision legacy IDs ("従来ご利用いただいたもの"): any of the allowed characters, 1–64 long. */
export function isValidProvisionedUserId(normalized: string): boolean {
  return normalized.length >= 1 && normalized.length <= 64 && USER_ID_PATTERN.test(normalized);
}
