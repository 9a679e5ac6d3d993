import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/idp.js';
import type { ChildMessage, DatabaseUse } from './shared.js';

/** A server child: `node --import tsx <script>` so that its pid is the server itself (not a tsx wrapper). */
export interface Child {
  name: string;
  url: string;
  process: ChildProcess;
  /** kosmo-idp only: milliseconds from reading its configuration to serving (its `ready` message). */
  readyMs?: number;
  /** Peak resident set size so far (kernel VmHWM, or the highest VmRSS polled), in bytes. */
  peakRss(): number;
  /** kosmo-idp only: its database use so far. */
  database(): Promise<DatabaseUse>;
  /** process.memoryUsage() of the child (kosmo-idp only), after a full GC if it runs with --expose-gc. */
  memoryUsage(): Promise<{ usage: NodeJS.MemoryUsage; spaces: Record<string, number> }>;
  /** kosmo-idp only: every member's password is now checked against `hash` (the warm-up runs on a cheap one). */
  setPasswordHash(hash: string): Promise<number>;
  stop(): Promise<void>;
}

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const DIST = '.data/bench/dist';

/**
 * Compiles the project with its own tsc into .data/bench/dist, so that the servers run as the image
 * runs them (`node dist/src/main.js`, no tsx loader in the process being measured). Returns the
 * compiled path of each script, or the TypeScript path where compilation did not produce it.
 */
export function compileForBench(scripts: string[]): string[] {
  const started = Date.now();
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', DIST], { stdio: 'ignore' });
  } catch {
    // Type errors elsewhere in the tree (other work in progress) still emit JavaScript.
  }
  return scripts.map((script) => {
    const compiled = path.join(DIST, script.replace(/\.ts$/, '.js'));
    return existsSync(compiled) && statSync(compiled).mtimeMs >= started - 1000 ? compiled : script;
  });
}

/** The NODE_OPTIONS the production image sets (Dockerfile `ENV ... NODE_OPTIONS=...`). */
export function productionNodeOptions(): string {
  if (process.env.BENCH_SERVER_NODE_OPTIONS !== undefined) return process.env.BENCH_SERVER_NODE_OPTIONS;
  try {
    const m = /NODE_OPTIONS=("([^"]*)"|(\S+))/.exec(readFileSync('Dockerfile', 'utf8'));
    return m ? (m[2] ?? m[3] ?? '') : '';
  } catch {
    return '';
  }
}

/** What a kosmo-idp child (kosmo-server.ts) is started with; its ports are free ones. */
export interface KosmoChildSettings {
  /** Its folder: embedded PostgreSQL, fixtures. */
  dir: string;
  members: number;
  /** The bcrypt hash every member shares, and its cost (the server's BCRYPT_COST). */
  passwordHash: string;
  bcryptCost: number;
  /** Default: the Dockerfile's (productionNodeOptions). */
  nodeOptions?: string;
  /** The society's mail relay (the bench's code sink), for (e). */
  smtpUrl?: string;
  emailMembers?: number;
  totpMembers?: number;
  societies?: number;
}

/** Starts kosmo-server.ts (compiled `script`) as a child. */
export async function startKosmoChild(name: string, script: string, s: KosmoChildSettings, timeoutMs?: number): Promise<Child> {
  const optional = (key: string, value: string | number | undefined) => (value === undefined ? {} : { [key]: String(value) });
  return startChild(
    name,
    script,
    {
      NODE_OPTIONS: s.nodeOptions ?? productionNodeOptions(),
      BENCH_DIR: s.dir,
      BENCH_PORT: String(await freePort()),
      BENCH_PG_PORT: String(await freePort()),
      BENCH_MEMBERS: String(s.members),
      BENCH_PASSWORD_HASH: s.passwordHash,
      BENCH_BCRYPT_COST: String(s.bcryptCost),
      ...optional('BENCH_SMTP_URL', s.smtpUrl),
      ...optional('BENCH_EMAIL_MEMBERS', s.emailMembers),
      ...optional('BENCH_TOTP_MEMBERS', s.totpMembers),
      ...optional('BENCH_SOCIETIES', s.societies),
    },
    timeoutMs,
  );
}

export async function startChild(name: string, script: string, env: Record<string, string>, timeoutMs = 90_000): Promise<Child> {
  const args = script.endsWith('.js') ? [script] : ['--import', 'tsx', script];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (process.env.BENCH_CHILD_STDERR === '1') child.stderr!.pipe(process.stderr);

  let polledPeakKb = 0;
  let hwmKb = 0;
  const poll = () => {
    if (child.exitCode !== null || !child.pid) return;
    polledPeakKb = Math.max(polledPeakKb, readStatusKb(child.pid, 'VmRSS'));
    hwmKb = Math.max(hwmKb, readStatusKb(child.pid, 'VmHWM'));
  };
  const poller = setInterval(poll, 200);
  poller.unref();

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let readyMs: number | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000} s\n${output}`)), timeoutMs);
    child.on('message', (m: ChildMessage) => {
      // The peak counts from here: the server is set up (members, their TOTP devices) and serving.
      if (m.type === 'ready') {
        clearTimeout(timer);
        polledPeakKb = 0;
        hwmKb = 0;
        readyMs = m.readyMs;
        resolve(m.url);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready\n${output}`));
    });
  }).catch(async (err) => {
    clearInterval(poller);
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  });

  return {
    name,
    url,
    readyMs,
    process: child,
    peakRss() {
      poll();
      return Math.max(polledPeakKb, hwmKb) * 1024;
    },
    database: () => ask(child, name, 'database', (m) => (m.type === 'database' ? { statements: m.statements, connectionMs: m.connectionMs } : undefined)),
    memoryUsage: () => ask(child, name, 'memory', (m) => (m.type === 'memory' ? { usage: m.usage, spaces: m.spaces } : undefined)),
    async setPasswordHash(hash) {
      const answer = await ask(child, name, 'passwordHash', (m) => (m.type === 'passwordHashSet' ? m : undefined), { hash });
      // Logins measured against the warm-up's cheap hash would say nothing about the configured cost.
      if (answer.error || answer.credentials === 0)
        throw new Error(`${name}: the members' password hash was not set: ${answer.error ?? 'no password credential'}`);
      return answer.credentials;
    },
    async stop() {
      clearInterval(poller);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function ask<T>(child: ChildProcess, name: string, type: string, pick: (m: ChildMessage) => T | undefined, payload: object = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no answer to ${type}`)), 10_000);
    const onMessage = (m: ChildMessage) => {
      const value = pick(m);
      if (value === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(value);
    };
    child.on('message', onMessage);
    child.send({ ...payload, type });
  });
}

/** Stops a PostgreSQL left running under `dataDir` (only if its child could not stop it itself). */
export function killOrphanPostgres(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
}

const CLOCK_TICKS = 100;

/** utime + stime (and, with `children`, cutime + cstime) of a process, in seconds; 0 once it is gone. */
function cpuSecondsOf(pid: number, children = false): number {
  try {
    // The command name may contain spaces: the fields start after its closing parenthesis.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by the kosmo-idp process (every thread: bcrypt runs on libuv's) and by its
 * PostgreSQL (the postmaster, its live backends, and what its ended backends used).
 */
export function cpuMeter(serverPid: number, pgDataDir: string): () => { provider: number; postgres: number } {
  return () => {
    let postgres = 0;
    try {
      const postmaster = Number(readFileSync(path.join(pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      postgres = cpuSecondsOf(postmaster, true);
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
          if (ppid === postmaster) postgres += cpuSecondsOf(Number(entry));
        } catch {
          // gone meanwhile
        }
      }
    } catch {
      // no PostgreSQL here
    }
    return { provider: cpuSecondsOf(serverPid), postgres };
  };
}
