import { parseArgs } from 'node:util';
import { UsageError } from './result.js';

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;
export type OptionValues = Record<string, string | boolean | undefined>;

/** node:util parseArgs, with its long messages turned into one short usage error. */
export function parseCommandArgs(argv: string[], options: OptionSpec, positionals: { names: string[] }): { values: OptionValues; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as { code?: string; message: string };
    const option = /'(--?[\w-]+)/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${option}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`option ${option} needs a value`);
    throw new UsageError(e.message.split('. ')[0]!);
  }
  const given = parsed.positionals;
  if (given.length < positionals.names.length) throw new UsageError(`missing ${positionals.names[given.length]}`);
  if (given.length > positionals.names.length) throw new UsageError(`unexpected argument "${given[positionals.names.length]}"`);
  return { values: parsed.values as OptionValues, positionals: given };
}

export function requiredOption(values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value !== 'string') throw new UsageError(`missing --${name}`);
  return value;
}

export function isHelpRequest(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}
