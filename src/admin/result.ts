/** Exit codes of `npm run admin`, documented in the usage text. */
export const ExitCode = {
  ok: 0,
  /** The member or file was not found, or the request was refused (duplicate, not allowed). */
  refused: 1,
  /** The command line itself is wrong: unknown command, missing or unknown option. */
  usage: 2,
  /** The values or the file given are not acceptable data (bad birth date, bad CSV rows). */
  inputData: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What a command hands back instead of printing: the CLI writes `output` to stdout and `errors` to
 * stderr, tests look at `data`. Problems an administrator can fix are results, never exceptions.
 */
export interface CommandResult<T = undefined> {
  exitCode: ExitCode;
  output: string[];
  errors: string[];
  data?: T;
}

export function succeeded<T = undefined>(output: string[], data?: T): CommandResult<T> {
  return { exitCode: ExitCode.ok, output, errors: [], data };
}

export function failed<T = undefined>(exitCode: ExitCode, ...errors: string[]): CommandResult<T> {
  return { exitCode, output: [], errors };
}

/** A mistake on the command line; the CLI prints the message and the command's usage, exit 2. */
export class UsageError extends Error {}

/** An environment problem (no database, a missing password file): one line on stderr, exit 1. */
export class AdminEnvironmentError extends Error {}

/** PostgreSQL's unique_violation, with the constraint that refused the row. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' ? (e.constraint ?? 'unique') : undefined;
}
