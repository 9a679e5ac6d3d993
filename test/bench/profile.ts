/**
 * Profiling aid for the benchmark (not part of `npm run bench`): runs kosmo-idp alone under login
 * and refresh load and prints, per operation, the CPU time spent by the kosmo-idp process, by
 * PostgreSQL and by this load generator, plus the child's heap and RSS.
 *
 *   BENCH_BCRYPT_COST=4 BENCH_SECONDS=10 npx tsx test/bench/profile.ts
 *   BENCH_CHILD_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/kosmo-prof" npx tsx test/bench/profile.ts
 *   BENCH_CHILD_NODE_OPTIONS=--expose-gc npx tsx test/bench/profile.ts   (heap after a full GC)
 *   BENCH_PROFILE=login|totp|email|refresh (only that one); BENCH_SERVER_NODE_OPTIONS replaces the Dockerfile's NODE_OPTIONS
 *   BENCH_SQL_LOG=1 (the kosmo-idp child prints every SQL statement it sends to its stderr)
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import { freePort } from '../support/idp.js';
import { compileForBench, cpuMeter, productionNodeOptions, startChild, startKosmoChild, killOrphanPostgres } from './children.js';
import { startCodeSink } from './code-sink.js';
import { codeFlowLogin, devInteractionForms, discover, emailLoginOp, kosmoPasswordForm, refreshOp, runLoad, totpLoginOp } from './load.js';
import { BENCH_PASSWORD, benchUserId } from './shared.js';

const env = process.env;
const cost = Number(env.BENCH_BCRYPT_COST ?? 4);
const seconds = Number(env.BENCH_SECONDS ?? 10);
const members = 1000;
const loginConcurrency = Number(env.BENCH_LOGIN_CONCURRENCY ?? 6);
const refreshConcurrency = Number(env.BENCH_REFRESH_CONCURRENCY ?? 8);

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-prof-'));
chmodSync(dir, 0o755);
const pgdata = path.join(dir, 'postgres', 'pgdata');
const hash = await bcrypt.hash(BENCH_PASSWORD, cost);
const [kosmoScript, bareScript] = compileForBench(['test/bench/kosmo-server.ts', 'test/bench/bare-provider.ts']) as [string, string];
const nodeOptions = [productionNodeOptions(), env.BENCH_CHILD_NODE_OPTIONS ?? ''].join(' ').trim();
console.log(`servers: ${kosmoScript}, ${bareScript}; NODE_OPTIONS="${nodeOptions}"`);
const mail = await startCodeSink();
const kosmo = await startKosmoChild('kosmo-idp', kosmoScript, { dir, nodeOptions, members, passwordHash: hash, bcryptCost: cost, smtpUrl: mail.url });
const bare = await startChild('bare oidc-provider', bareScript, { NODE_OPTIONS: nodeOptions, BENCH_PORT: String(await freePort()) });
try {
  const memory = async (label: string) => {
    const { usage: m, spaces } = await kosmo.memoryUsage();
    console.log(
      `${label}: rss ${mb(m.rss)}, heap used ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}, array buffers ${mb(m.arrayBuffers)}; peak rss so far ${mb(kosmo.peakRss())}`,
    );
    console.log(
      `  heap spaces (MB): ${Object.entries(spaces)
        .map(([k, v]) => `${k.replace('_space', '')} ${v}`)
        .join(', ')}`,
    );
  };
  await memory('ready');
  const endpoints = await discover(kosmo.url);
  let next = 0;
  const login = () => codeFlowLogin(endpoints, kosmoPasswordForm(benchUserId(next++ % members), BENCH_PASSWORD)).then(() => {});
  const chains = (
    await Promise.all(
      Array.from({ length: refreshConcurrency }, () => codeFlowLogin(endpoints, kosmoPasswordForm(benchUserId(next++ % members), BENCH_PASSWORD))),
    )
  ).map((t) => t.refresh_token!);
  const refresh = refreshOp(endpoints, chains);
  await runLoad(login, { concurrency: 6, rampMs: 0, windowMs: 2000 });
  await runLoad(refresh, { concurrency: 8, rampMs: 0, windowMs: 2000 });
  await memory('after warm-up');

  const measure = async (name: string, op: (w: number) => Promise<void>, concurrency: number, server = kosmo) => {
    const meter = cpuMeter(server.process.pid!, pgdata);
    const selfBefore = process.cpuUsage();
    const r = await runLoad(op, { concurrency, rampMs: 0, windowMs: seconds * 1000, meter });
    const pg = r.cpu!.postgres! * 1000;
    const k = r.cpu!.provider! * 1000;
    const self = process.cpuUsage(selfBefore);
    const per = (ms: number) => (ms / r.completed).toFixed(2);
    const pgPart = server === kosmo ? `, postgres ${per(pg)}` : '';
    console.log(
      `${name} (c=${concurrency}): ${r.perSecond.toFixed(1)}/s, ${r.errors} errors${r.firstError ? ` (${r.firstError})` : ''}; CPU ms per operation: ${server.name} ${per(k)}${pgPart}, load generator ${per((self.user + self.system) / 1000)}`,
    );
    if (server === kosmo) await memory(`after ${name}`);
  };
  const only = (name: string) => env.BENCH_PROFILE === undefined || env.BENCH_PROFILE === name;
  if (only('login')) await measure('logins', login, loginConcurrency);
  if (only('totp')) {
    const totpLogin = totpLoginOp(endpoints, dir);
    await runLoad(() => totpLogin().then(() => {}), { concurrency: 6, rampMs: 0, windowMs: 2000 });
    await measure('TOTP logins', () => totpLogin().then(() => {}), loginConcurrency);
  }
  if (only('email')) {
    const emailLogin = emailLoginOp(endpoints, mail, Number(env.BENCH_EMAIL_MEMBERS ?? 200));
    await runLoad(() => emailLogin().then(() => {}), { concurrency: 6, rampMs: 0, windowMs: 2000 });
    await measure('mailed-code logins', () => emailLogin().then(() => {}), loginConcurrency);
  }
  if (only('refresh')) await measure('refresh grants', refresh, refreshConcurrency);
  if (only('refresh')) {
    const bareEndpoints = await discover(bare.url);
    const bareChains = (
      await Promise.all(
        Array.from({ length: refreshConcurrency }, () => codeFlowLogin(bareEndpoints, devInteractionForms('bench-account'), { prompt: 'consent' })),
      )
    ).map((t) => t.refresh_token!);
    const bareRefresh = refreshOp(bareEndpoints, bareChains);
    await runLoad(bareRefresh, { concurrency: 8, rampMs: 0, windowMs: 2000 });
    await measure('bare refresh grants', bareRefresh, refreshConcurrency, bare);
  }
  // Where the server's resident memory is: the largest mappings by RSS (anonymous = heap and malloc).
  const smaps = readFileSync(`/proc/${kosmo.process.pid}/smaps`, 'utf8').split('\n');
  const mappings: { name: string; rssKb: number }[] = [];
  for (const line of smaps) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) mappings.push({ name: head[1] || '[anonymous]', rssKb: 0 });
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && mappings.length) mappings.at(-1)!.rssKb += Number(rss[1]);
  }
  const byName = new Map<string, number>();
  for (const m of mappings) byName.set(m.name, (byName.get(m.name) ?? 0) + m.rssKb);
  console.log(
    `resident memory by mapping: ${[...byName]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([n, kb]) => `${path.basename(n)} ${(kb / 1024).toFixed(0)} MB`)
      .join(', ')}`,
  );
} finally {
  await bare.stop();
  await kosmo.stop();
  await mail.close();
  killOrphanPostgres(pgdata);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
