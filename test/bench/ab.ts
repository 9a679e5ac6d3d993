/**
 * A/B of two builds of kosmo-idp (A: BENCH_AB_A, a compiled kosmo-server.js from another checkout,
 * default this tree too; B: this tree), measured in alternation, R rounds, medians.
 *   BENCH_AB_A=/work/abA/.data/bench/dist/test/bench/kosmo-server.js npx tsx test/bench/ab.ts
 *   BENCH_AB_A_NODE_OPTIONS / BENCH_AB_B_NODE_OPTIONS: each build's NODE_OPTIONS (default the Dockerfile's)
 *   BENCH_AB_OP=refresh (default): refresh grants/s, with the bare provider as a third
 *   BENCH_AB_OP=login | email: complete password logins / logins with the mailed code (c=6, bcrypt
 *     cost 4, BENCH_BCRYPT_COST): logins/s and the CPU per login of the provider and of its PostgreSQL,
 *     which is where a change to the login shows (bcrypt's share is the same for both)
 *   BENCH_WARMUP_SECONDS (default 10): each server's warm-up before the rounds
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import { freePort } from '../support/idp.js';
import { compileForBench, cpuMeter, productionNodeOptions, startChild, startKosmoChild, type Child } from './children.js';
import { startCodeSink, type CodeSink } from './code-sink.js';
import { codeFlowLogin, devInteractionForms, discover, emailLoginOp, kosmoPasswordForm, newChains, refreshOp, runLoad, type TokenSet } from './load.js';
import { BENCH_PASSWORD, benchUserId } from './shared.js';

const env = process.env;
const op = env.BENCH_AB_OP ?? 'refresh';
if (!['refresh', 'login', 'email'].includes(op)) throw new Error(`BENCH_AB_OP: refresh, login or email, not ${op}`);
const rounds = Number(env.BENCH_ROUNDS ?? 5);
const seconds = Number(env.BENCH_SECONDS ?? 6);
const c = op === 'refresh' ? Number(env.BENCH_REFRESH_CONCURRENCY ?? 8) : Number(env.BENCH_LOGIN_CONCURRENCY ?? 6);
/** Enough members that the mailed-code logins of a long comparison stay under each member's hourly mail ceiling. */
const members = op === 'email' ? 1000 : 200;
const hash = await bcrypt.hash(BENCH_PASSWORD, Number(env.BENCH_BCRYPT_COST ?? 4));
const [bScript, bareScript] = compileForBench(['test/bench/kosmo-server.ts', 'test/bench/bare-provider.ts']) as [string, string];

interface Server {
  child: Child;
  /** Its PostgreSQL's data folder (for the CPU meter); none for the bare provider. */
  pgdata?: string;
  /** One operation; `worker` keeps a refresh worker on its own chain. */
  run: (worker: number) => Promise<void>;
  /** Before each measurement: new refresh chains (see run.ts, (b)). */
  prepare(): Promise<void>;
}

/** Each kosmo-idp child has its own mail relay: both have the same members, and codes must not cross. */
const sinks: CodeSink[] = [];

async function startKosmo(name: 'A' | 'B', script: string): Promise<Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-ab-'));
  chmodSync(dir, 0o755);
  const mail = await startCodeSink();
  sinks.push(mail);
  const child = await startKosmoChild(name, script, {
    dir,
    nodeOptions: env[`BENCH_AB_${name}_NODE_OPTIONS`],
    members,
    totpMembers: 1,
    emailMembers: op === 'email' ? members : 1,
    passwordHash: hash,
    bcryptCost: Number(env.BENCH_BCRYPT_COST ?? 4),
    smtpUrl: mail.url,
  });
  const endpoints = await discover(child.url);
  let next = 0;
  const login = () => codeFlowLogin(endpoints, kosmoPasswordForm(benchUserId(next++ % members), BENCH_PASSWORD));
  if (op === 'refresh') return refreshServer(child, path.join(dir, 'postgres', 'pgdata'), () => login());
  const email = emailLoginOp(endpoints, mail, members);
  const run = op === 'email' ? () => email().then(() => {}) : () => login().then(() => {});
  return { child, pgdata: path.join(dir, 'postgres', 'pgdata'), run, prepare: async () => {} };
}

function refreshServer(child: Child, pgdata: string | undefined, login: () => Promise<TokenSet>): Server {
  const server: Server = {
    child,
    pgdata,
    run: async () => {},
    async prepare() {
      server.run = refreshOp(await discover(child.url), await newChains(c, login));
    },
  };
  return server;
}

async function startBare(): Promise<Server> {
  const child = await startChild('bare', bareScript, { NODE_OPTIONS: productionNodeOptions(), BENCH_PORT: String(await freePort()) });
  const endpoints = await discover(child.url);
  return refreshServer(child, undefined, () => codeFlowLogin(endpoints, devInteractionForms('bench-account'), { prompt: 'consent' }));
}

const servers: Record<string, Server> = {
  A: await startKosmo('A', env.BENCH_AB_A ?? bScript),
  B: await startKosmo('B', bScript),
  ...(op === 'refresh' ? { bare: await startBare() } : {}),
};
const names = Object.keys(servers);
interface Round {
  rate: number;
  /** CPU ms per operation, the server's process and its PostgreSQL. */
  provider: number;
  postgres: number;
}
const results: Record<string, Round[]> = Object.fromEntries(names.map((n) => [n, []]));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const name of names) {
    await servers[name]!.prepare();
    // Warm, as run.ts does before its rounds (a cold provider spends a third more CPU per login).
    await runLoad(servers[name]!.run, { concurrency: c, rampMs: 0, windowMs: Number(env.BENCH_WARMUP_SECONDS ?? 10) * 1000 });
  }
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const server = servers[name]!;
      await server.prepare();
      const meter = server.pgdata ? cpuMeter(server.child.process.pid!, server.pgdata) : undefined;
      const res = await runLoad(server.run, { concurrency: c, rampMs: 500, windowMs: seconds * 1000, meter });
      if (res.errors) throw new Error(`${name}: ${res.firstError}`);
      const per = (cpuSeconds = 0) => (cpuSeconds * 1000) / res.completed;
      results[name]!.push({ rate: res.perSecond, provider: per(res.cpu?.provider), postgres: per(res.cpu?.postgres) });
    }
    const show = (n: string) => {
      const x = results[n]!.at(-1)!;
      return n === 'bare'
        ? `bare ${x.rate.toFixed(0)}/s`
        : `${n} ${x.rate.toFixed(1)}/s (CPU ms per op: ${x.provider.toFixed(2)} + PostgreSQL ${x.postgres.toFixed(2)})`;
    };
    console.log(`round ${r + 1}: ${names.map(show).join(', ')}`);
  }
  const ratio = (x: string, y: string) => median(results[x]!.map((v, i) => v.rate / results[y]![i]!.rate)).toFixed(3);
  const cpu = (n: string, k: 'provider' | 'postgres') => median(results[n]!.map((x) => x[k])).toFixed(2);
  console.log(`median ratios: B/A ${ratio('B', 'A')}${op === 'refresh' ? `, A/bare ${ratio('A', 'bare')}, B/bare ${ratio('B', 'bare')}` : ''}`);
  for (const n of ['A', 'B'])
    console.log(`${n}: median CPU ms per ${op === 'refresh' ? 'grant' : 'login'}: provider ${cpu(n, 'provider')}, PostgreSQL ${cpu(n, 'postgres')}`);
} finally {
  for (const s of Object.values(servers)) await s.child.stop();
  for (const sink of sinks) await sink.close();
}
process.exit(0);
