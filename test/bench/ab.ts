/**
 * A/B of refresh grants: two builds of kosmo-idp (A: BENCH_AB_A, a compiled kosmo-server.js from
 * another checkout; B: this tree) and the bare provider, measured in alternation, R rounds.
 *   BENCH_AB_A=/work/abA/.data/bench/dist/test/bench/kosmo-server.js npx tsx test/bench/ab.ts
 *   BENCH_AB_A_NODE_OPTIONS / BENCH_AB_B_NODE_OPTIONS: each build's NODE_OPTIONS (default the Dockerfile's)
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import { freePort } from '../support/idp.js';
import { compileForBench, productionNodeOptions, startChild, startKosmoChild, type Child } from './children.js';
import { startCodeSink } from './code-sink.js';
import { codeFlowLogin, devInteractionForms, discover, kosmoPasswordForm, refreshOp, runLoad } from './load.js';
import { BENCH_PASSWORD, benchUserId } from './shared.js';

const env = process.env;
const rounds = Number(env.BENCH_ROUNDS ?? 5);
const seconds = Number(env.BENCH_SECONDS ?? 6);
const c = Number(env.BENCH_REFRESH_CONCURRENCY ?? 8);
const hash = await bcrypt.hash(BENCH_PASSWORD, 4);
const [bScript, bareScript] = compileForBench(['test/bench/kosmo-server.ts', 'test/bench/bare-provider.ts']) as [string, string];
const nodeOptions = productionNodeOptions();
const mail = await startCodeSink();
const startKosmo = (name: 'A' | 'B', script: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-ab-'));
  chmodSync(dir, 0o755);
  const nodeOptions = env[`BENCH_AB_${name}_NODE_OPTIONS`];
  return startKosmoChild(name, script, {
    dir,
    nodeOptions,
    members: 200,
    totpMembers: 1,
    emailMembers: 1,
    passwordHash: hash,
    bcryptCost: 4,
    smtpUrl: mail.url,
  });
};
const servers: Record<string, Child> = {
  A: await startKosmo('A', env.BENCH_AB_A!),
  B: await startKosmo('B', bScript),
  bare: await startChild('bare', bareScript, { NODE_OPTIONS: nodeOptions, BENCH_PORT: String(await freePort()) }),
};
let next = 0;
const rates: Record<string, number[]> = { A: [], B: [], bare: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? ['bare', 'B', 'A'] : ['A', 'B', 'bare']) {
      const endpoints = await discover(servers[name]!.url);
      const form = () => (name === 'bare' ? devInteractionForms('bench-account') : kosmoPasswordForm(benchUserId(next++ % 200), BENCH_PASSWORD));
      const chains = (await Promise.all(Array.from({ length: c }, () => codeFlowLogin(endpoints, form(), name === 'bare' ? { prompt: 'consent' } : {})))).map(
        (t) => t.refresh_token!,
      );
      const op = refreshOp(endpoints, chains);
      await runLoad(op, { concurrency: c, rampMs: 0, windowMs: 1000 });
      const res = await runLoad(op, { concurrency: c, rampMs: 0, windowMs: seconds * 1000 });
      if (res.errors) throw new Error(`${name}: ${res.firstError}`);
      rates[name]!.push(res.perSecond);
    }
    console.log(`round ${r + 1}: A ${rates.A!.at(-1)!.toFixed(0)}/s, B ${rates.B!.at(-1)!.toFixed(0)}/s, bare ${rates.bare!.at(-1)!.toFixed(0)}/s`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = (x: string, y: string) => median(rates[x]!.map((v, i) => v / rates[y]![i]!)).toFixed(3);
  console.log(`median ratios: B/A ${ratio('B', 'A')}, A/bare ${ratio('A', 'bare')}, B/bare ${ratio('B', 'bare')}`);
} finally {
  for (const s of Object.values(servers)) await s.stop();
  await mail.close();
}
