/** Email addresses are compared and stored lowercase. */
export function normalizeEmail(input: string): string {
  return input.trim().toLowerCase();
}

export const EMAIL_MAX_LENGTH = 255;

/**
 * A practical address check, as the manual describes it: no forbidden symbols such as "?", no dot
 * right before "@", no leading, trailing or doubled dots, a domain with a dot.
 */
export function isValidEmailAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at !== address.indexOf('@')) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !/^[A-Za-z0-9!#$%&'*+\-/=^_`{|}~.]+$/.test(local)) return false;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(domain)) return false;
  return domain.split('.').every((label) => !label.startsWith('-') && !label.endsWith('-')) && /[A-Za-z]{2,}$/.test(domain);
}

export type EmailProblem = 'required' | 'too_long' | 'invalid';

/** The checks every form that takes an address applies (onboarding, forgot user ID, the console). */
export function emailAddressProblem(normalized: string): EmailProblem | undefined {
  if (!normalized) return 'required';
  if (normalized.length > EMAIL_MAX_LENGTH) return 'too_long';
  if (!isValidEmailAddress(normalized)) return 'invalid';
  return undefined;
}
