import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * NIST SP 800-63B-4 §3.1.1.2: a new password is compared with a list of commonly used or breached
 * values and with words of its context. The common list is zxcvbn-ts' (the most used passwords from
 * breach corpora); only entries a policy could otherwise accept (8 characters and more) are kept.
 */
const COMMON = new Set(dictionary['passwords-common'].filter((p) => p.length >= 8).map((p) => p.toLowerCase()));

/** Words of this service that make a password guessable wherever it is used. */
const SERVICE_WORDS = ['kosmo', 'kenpo', 'kosmoweb'];

export type BlockedReason = 'common' | 'personal';

/** The birth date in the forms people type it: 19801201, 801201, 1980-12-01, 1980/12/01, 01121980, 12011980. */
function birthdateForms(birthdate: string | undefined): string[] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthdate ?? '');
  if (!m) return [];
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  return [`${y}${mo}${d}`, `${y.slice(2)}${mo}${d}`, `${y}-${mo}-${d}`, `${y}/${mo}/${d}`, `${d}${mo}${y}`, `${mo}${d}${y}`];
}

/**
 * Why a new password is refused, or undefined: one of the common passwords (also with a digit or
 * symbol added at the end, the usual way round a rule), or one that contains the member's user ID,
 * birth date, or the service's or the society's name.
 */
export function blockedPasswordReason(
  password: string,
  context: { userId: string; birthdate?: string; societyWords?: readonly string[] },
): BlockedReason | undefined {
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || COMMON.has(lower.replace(/[^a-z]+$/, '')) || COMMON.has(lower.replace(/^[^a-z]+|[^a-z]+$/g, ''))) return 'common';
  const words = [...SERVICE_WORDS, ...(context.societyWords ?? []), context.userId, ...birthdateForms(context.birthdate)]
    .map((w) => w.toLowerCase())
    .filter((w) => w.length >= 4);
  return words.some((w) => lower.includes(w)) ? 'personal' : undefined;
}
