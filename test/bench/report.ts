import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { LoadResult } from './load.js';

export const TARGETS = { loginRatio: 0.9, refreshRatio: 0.7, peakRssMb: 250, totpLoginRatio: 0.85 };

export interface Report {
  date: Date;
  settings: { bcryptCost: number; loginConcurrency: number; refreshConcurrency: number; windowMs: number; rounds: number; members: number };
  /** How the kosmo-idp child ran: its script (compiled or TypeScript) and NODE_OPTIONS. */
  server: { script: string; nodeOptions: string };
  raw: LoadResult;
  login: LoadResult;
  totp: LoadResult;
  bare: LoadResult;
  refresh: LoadResult;
  rounds: { raw: LoadResult[]; login: LoadResult[]; totp: LoadResult[]; bare: LoadResult[]; refresh: LoadResult[] };
  kosmoPeakRss: number;
  barePeakRss: number;
  sqlPerLogin: number;
  sqlPerRefresh: number;
  sqlPerTotpLogin: number;
  durationSeconds: number;
}

interface Row {
  measurement: string;
  kosmo: string;
  reference: string;
  ratio: string;
  target: string;
  result: 'PASS' | 'FAIL';
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const rate = (r: LoadResult) => `${r.perSecond.toFixed(r.perSecond < 100 ? 2 : 0)}/s`;

function rows(r: Report): Row[] {
  const loginRatio = r.login.perSecond / r.raw.perSecond;
  const refreshRatio = r.refresh.perSecond / r.bare.perSecond;
  const clean = (...results: LoadResult[]) => results.every((x) => x.errors === 0 && x.completed > 0);
  return [
    {
      measurement: `(a) password logins (cost ${r.settings.bcryptCost}, c=${r.settings.loginConcurrency}) vs raw bcrypt.compare`,
      kosmo: rate(r.login),
      reference: rate(r.raw),
      ratio: loginRatio.toFixed(2),
      target: `>= ${TARGETS.loginRatio}`,
      result: clean(r.login, r.raw) && loginRatio >= TARGETS.loginRatio ? 'PASS' : 'FAIL',
    },
    {
      measurement: `(b) refresh-token grants (c=${r.settings.refreshConcurrency}) vs bare oidc-provider`,
      kosmo: rate(r.refresh),
      reference: rate(r.bare),
      ratio: refreshRatio.toFixed(2),
      target: `>= ${TARGETS.refreshRatio}`,
      result: clean(r.refresh, r.bare) && refreshRatio >= TARGETS.refreshRatio ? 'PASS' : 'FAIL',
    },
    {
      measurement: `(d) logins with a TOTP second factor (c=${r.settings.loginConcurrency}) vs raw bcrypt.compare`,
      kosmo: rate(r.totp),
      reference: rate(r.raw),
      ratio: (r.totp.perSecond / r.raw.perSecond).toFixed(2),
      target: `>= ${TARGETS.totpLoginRatio}`,
      result: clean(r.totp, r.raw) && r.totp.perSecond / r.raw.perSecond >= TARGETS.totpLoginRatio ? 'PASS' : 'FAIL',
    },
    {
      measurement: '(c) peak RSS of the kosmo-idp server process',
      kosmo: `${mb(r.kosmoPeakRss).toFixed(0)} MB`,
      reference: `(bare: ${mb(r.barePeakRss).toFixed(0)} MB)`,
      ratio: '-',
      target: `< ${TARGETS.peakRssMb} MB`,
      result: r.kosmoPeakRss > 0 && mb(r.kosmoPeakRss) < TARGETS.peakRssMb ? 'PASS' : 'FAIL',
    },
  ];
}

function machine(): string {
  return `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}, ${os.platform()} ${os.release()}`;
}

function command(): string {
  const vars = [
    'BENCH_BCRYPT_COST',
    'BENCH_LOGIN_CONCURRENCY',
    'BENCH_REFRESH_CONCURRENCY',
    'BENCH_SECONDS',
    'BENCH_ROUNDS',
    'BENCH_MEMBERS',
    'BENCH_TOTP_MEMBERS',
    'BENCH_SERVER_NODE_OPTIONS',
  ]
    .filter((v) => process.env[v] !== undefined)
    .map((v) => `${v}=${JSON.stringify(process.env[v])}`);
  return [...vars, 'npm run bench'].join(' ');
}

function perRound(r: Report): string[] {
  const fmt = (list: LoadResult[]) => list.map((x) => x.perSecond.toFixed(x.perSecond < 100 ? 2 : 0)).join(', ');
  return [
    `raw bcrypt.compare/s per round: ${fmt(r.rounds.raw)}; kosmo-idp logins/s: ${fmt(r.rounds.login)}; with TOTP: ${fmt(r.rounds.totp)}`,
    `bare refresh grants/s per round: ${fmt(r.rounds.bare)}; kosmo-idp refresh grants/s: ${fmt(r.rounds.refresh)}`,
    `SQL statements sent by kosmo-idp: ${r.sqlPerLogin} per complete login, ${r.sqlPerTotpLogin} per complete login with TOTP, ${r.sqlPerRefresh} per refresh grant`,
    `servers ran ${r.server.script.endsWith('.js') ? 'compiled by tsc' : 'through tsx'} (${r.server.script}) with NODE_OPTIONS="${r.server.nodeOptions}"`,
  ];
}

export function printTable(r: Report, out: (line: string) => void): void {
  const table = rows(r);
  const head: Row = { measurement: 'measurement', kosmo: 'kosmo-idp', reference: 'reference', ratio: 'ratio', target: 'target', result: 'result' as 'PASS' };
  const cols = ['measurement', 'kosmo', 'reference', 'ratio', 'target', 'result'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...table].map((x) => x[c].length))])) as Record<(typeof cols)[number], number>;
  const line = (x: Row) => cols.map((c) => (c === 'measurement' ? x[c].padEnd(width[c]) : x[c].padStart(width[c]))).join('  ');
  out('');
  out(`kosmo-idp benchmark, ${r.date.toISOString()}, ${machine()}`);
  out(line(head));
  out('-'.repeat(line(head).length));
  for (const x of table) out(line(x));
  out('');
  for (const note of perRound(r)) out(note);
  out(`${r.settings.rounds} rounds x ${r.settings.windowMs / 1000} s per measurement, ${r.durationSeconds.toFixed(0)} s in all`);
  const errors = (['raw', 'login', 'bare', 'refresh'] as const).filter((k) => r[k].errors > 0);
  for (const k of errors) out(`errors in ${k}: ${r[k].errors} (first: ${r[k].firstError})`);
}

export function writeBenchmarksFile(r: Report, file: string): void {
  const table = rows(r);
  const md = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (test/bench/run.ts); every run rewrites this file.',
    '',
    `- Date: ${r.date.toISOString()}`,
    `- Machine: ${machine()}`,
    `- Command: \`${command()}\``,
    `- bcrypt cost ${r.settings.bcryptCost}; ${r.settings.members} members sharing one hash; ${r.settings.rounds} rounds x ${r.settings.windowMs / 1000} s per measurement, compared measurements alternated; run took ${r.durationSeconds.toFixed(0)} s`,
    '',
    '| measurement | kosmo-idp | reference | ratio | target | result |',
    '|---|---:|---:|---:|---:|:---:|',
    ...table.map((x) => `| ${x.measurement} | ${x.kosmo} | ${x.reference} | ${x.ratio} | ${x.target} | ${x.result} |`),
    '',
    ...perRound(r).map((n) => `- ${n}`),
    '',
    '## How it is measured',
    '',
    '- kosmo-idp runs in its own process (test/bench/kosmo-server.ts: embedded PostgreSQL, `openDatabase`, `createIdp`, `listen`);',
    '  the bare oidc-provider (same version, in-memory adapter, `issueRefreshToken` and `rotateRefreshToken` on, a fixed account) in another',
    '  (test/bench/bare-provider.ts). This process drives both over 127.0.0.1 with fetch, manual redirects and a cookie jar.',
    '- (a) One login = authorize, login page, POST user ID + password, resume, code at the redirect URI, code exchange at the token',
    '  endpoint (client_secret_basic, PKCE). The reference is `bcrypt.compare` on the same hash, at the same concurrency, in the bench process.',
    '- (b) Each worker keeps one refresh-token chain: every grant rotates the token and the next grant uses the new one. Each measurement starts new chains',
    "  (new grants) on both servers: the bare provider's in-memory adapter walks all of a grant's tokens on every write, so old chains slow it down round after round.",
    '- Only operations completing inside each measured window count (a ramp before it is not counted).',
    '- (d) The same complete login for members whose chosen second factor is a TOTP app (set up through the factor, as at a first',
    '  login): after the password, ワンタイムパスワードの入力 with the code the app shows, checked and its time step stored, then',
    '  resume, code and exchange. Compared with the same raw bcrypt.compare figures as (a); target 0.85 (issue 8). BENCH_TOTP_MEMBERS',
    '  (default 150) members are set up at the start of the server process.',
    "- (c) The kernel's peak resident set size (VmHWM in /proc/<pid>/status) of the kosmo-idp node process while it serves; PostgreSQL is not included.",
    "  The peak counts from when the server says it is ready: the bench's own fixtures (members, their TOTP devices set up through the factor) come before, and the server resets its kernel peak then (`/proc/self/clear_refs`), as does the bare provider.",
    '- The per-IP login rate limit is raised for the run (all logins come from 127.0.0.1); its counter query still runs on every login.',
    "- The bare provider's authorization requests carry `prompt=consent`: it drops `offline_access` (no refresh token) without it. kosmo-idp gets the plain request a portal sends.",
    '- Both servers run compiled by tsc (.data/bench/dist) with the NODE_OPTIONS of the Dockerfile; `BENCH_SERVER_NODE_OPTIONS` replaces them',
    '  (e.g. to try a V8 flag). Knobs: `BENCH_BCRYPT_COST`, `BENCH_LOGIN_CONCURRENCY`, `BENCH_REFRESH_CONCURRENCY`, `BENCH_SECONDS`, `BENCH_ROUNDS`, `BENCH_MEMBERS`.',
    '- To see where the time goes: `npx tsx test/bench/profile.ts` (CPU per operation by process, heap, resident memory by mapping; see its header).',
    '',
  ];
  writeFileSync(file, md.join('\n'));
}
