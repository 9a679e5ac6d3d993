/**
 * Names members give their devices (デバイス名 for an authenticator app, 認証ラベル for a passkey):
 * one line of visible text, at most 64 characters, unique among the member's devices of that kind.
 */
export const LABEL_MAX = 64;

export type LabelProblem = 'required' | 'too_long';

export function normaliseLabel(typed: unknown): string {
  if (typeof typed !== 'string') return '';
  return (
    typed
      .slice(0, 1000)
      .normalize('NFC')
      // Control characters, lone surrogates and invisible formatting would make two names look alike.
      .replace(
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes from a name
        /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
        '',
      )
      .replace(/\s+/g, ' ')
      .trim()
  );
}

export function labelProblem(label: string): LabelProblem | undefined {
  if (!label) return 'required';
  if ([...label].length > LABEL_MAX) return 'too_long';
  return undefined;
}

/** Whether `label` is already used among `existing` (compared as members read them: width and case folded). */
export function labelTaken(label: string, existing: string[]): boolean {
  const key = (s: string) => s.normalize('NFKC').toLowerCase();
  return existing.some((e) => key(e) === key(label));
}
