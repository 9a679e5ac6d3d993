/**
 * Child process of the benchmark: kosmo-idp as `npm start` builds it (embedded PostgreSQL ->
 * openDatabase -> createIdp -> listen), with N onboarded members who all share one bcrypt hash.
 * Talks to the bench process over IPC: "ready" once listening, SQL statements and connection time on request.
 * Stops (server, ORM, PostgreSQL) on SIGTERM or when the bench process goes away.
 */
import { registerClient } from '../../src/config/clients.js';
import path from 'node:path';
import v8 from 'node:v8';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { envSchema } from '../../src/config/env.js';
import { createIdp, openDatabase } from '../../src/idp.js';
import { insertMembers, memberInputSchema } from '../../src/members/provision.js';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Member } from '../../src/db/entities/index.js';
import type { Host } from '../../src/flow/host.js';
import { totpFactor } from '../../src/factors/totp/index.js';
import { openTotpSecret } from '../../src/factors/totp/secret.js';
import { totpCodeAt } from '../../src/factors/totp/codes.js';
import { proofAttempts } from '../../src/flow/attempt.js';
import { flowDeps } from '../../src/members/ports.js';
import { withSociety } from '../../src/db/society.js';
import {
  BENCH_CLIENT,
  benchEmailAddress,
  benchEmailUserId,
  benchTotpUserId,
  benchUserId,
  resetPeakMemory,
  TOTP_SECRETS_FILE,
  type ChildMessage,
} from './shared.js';

// Every statement the ORM, kysely and the adapter send goes through pg.Client#query.
// BENCH_SQL_LOG=1 also prints each statement (for profiling: which queries does one login send?).
let sqlCount = 0;
const logSql = process.env.BENCH_SQL_LOG === '1';
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  sqlCount++;
  if (logSql) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
    process.stderr.write(`[sql] ${String(text).replace(/\s+/g, ' ').slice(0, 160)}\n`);
  }
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

// Connection time: how long the pool's connections are checked out, summed over connections (pg-pool
// announces each checkout and return). Per operation, it is what the database pool is busy for.
let connectionsOut = 0;
let connectionMs = 0;
let tallied = performance.now();
const tally = (change: number) => {
  const now = performance.now();
  connectionMs += connectionsOut * (now - tallied);
  tallied = now;
  connectionsOut += change;
};
const originalEmit = pg.Pool.prototype.emit;
pg.Pool.prototype.emit = function countedEmit(this: pg.Pool, event: string | symbol, ...args: unknown[]) {
  if (event === 'acquire') tally(1);
  else if (event === 'release') tally(-1);
  return originalEmit.call(this, event, ...args);
} as typeof pg.Pool.prototype.emit;

const env = process.env;
const dir = env.BENCH_DIR!;
const port = Number(env.BENCH_PORT);
const memberCount = Number(env.BENCH_MEMBERS ?? 1000);
const passwordHash = env.BENCH_PASSWORD_HASH!;

const send = (m: ChildMessage) => process.send?.(m);

const embedded = await startEmbeddedPostgres(path.join(dir, 'postgres'), Number(env.BENCH_PG_PORT));
// The pool a deployment gets by default (DATABASE_POOL_SIZE, DATABASE_POOL_IDLE_SECONDS).
const { DATABASE_POOL_SIZE, DATABASE_POOL_IDLE_SECONDS } = envSchema.parse({});
const orm = await openDatabase({ ownerUrl: embedded.ownerUrl, appUrl: embedded.appUrl }, { size: DATABASE_POOL_SIZE, idleSeconds: DATABASE_POOL_IDLE_SECONDS });
// BENCH_SOCIETIES=n: the repository's kosmo and n - 1 more societies (each its issuer under a path
// and a portal), in a configuration folder of its own; 0 (the default) serves the repository's.
const societies = Number(env.BENCH_SOCIETIES ?? 0);
const configDir = societies > 0 ? writeSocieties(path.join(dir, 'config'), societies) : undefined;
// Time to ready: the configuration read, every society validated, the default society's provider built.
const readyFrom = performance.now();
const config = loadConfig({
  ...(configDir ? { CONFIG_DIR: configDir } : {}),
  NODE_ENV: 'test',
  PORT: String(port),
  HOST: '127.0.0.1',
  ISSUER: `http://127.0.0.1:${port}`,
  DATABASE_URL: embedded.appUrl,
  MIGRATION_DATABASE_URL: embedded.ownerUrl,
  BCRYPT_COST: env.BENCH_BCRYPT_COST ?? '12',
  LOG_LEVEL: 'silent',
  COOKIE_KEYS: 'bench-cookie-key-0123456789abcdefghijklmnop',
  SECRETS_KEY: Buffer.alloc(32, 9).toString('base64'),
  DATA_DIR: dir,
});
// Every request comes from 127.0.0.1: the per-IP login limit (100 per 15 minutes) would refuse the
// bench after 100 logins. The counter query still runs on every login.
config.union.loginRateLimit.perIp = 1_000_000_000;
config.clients.push(
  registerClient({
    client_id: BENCH_CLIENT.id,
    client_secret: BENCH_CLIENT.secret,
    client_name: 'Bench portal',
    redirect_uris: [BENCH_CLIENT.redirect],
    post_logout_redirect_uris: ['http://127.0.0.1:3999/'],
    scope: BENCH_CLIENT.scope,
  }),
);
// (e) The mailed codes go to the bench's own SMTP server, as to a society's mail relay.
if (env.BENCH_SMTP_URL) config.smtpUrl = env.BENCH_SMTP_URL;
const idp = await createIdp(config, createLogger('silent'), orm);
const readyMs = performance.now() - readyFrom;

const totpCount = Number(env.BENCH_TOTP_MEMBERS ?? 150);
const emailCount = Number(env.BENCH_EMAIL_MEMBERS ?? 200);
/** `count` members of one kind: their user IDs, their own 記号, their addresses. */
const membersOf = (count: number, symbol: string, userId: (i: number) => string, email: (i: number) => string) =>
  Array.from({ length: count }, (_, i) =>
    memberInputSchema.parse({ userId: userId(i), symbol, number: String(1_000_000 + i), birthdate: '1980-12-01', name: `ベンチ ${i}`, email: email(i) }),
  );
const members = [
  ...membersOf(memberCount, '77', benchUserId, (i) => `${benchUserId(i)}@example.jp`),
  ...membersOf(totpCount, '78', benchTotpUserId, (i) => `${benchTotpUserId(i)}@example.jp`),
  ...membersOf(emailCount, '79', benchEmailUserId, benchEmailAddress),
];
await idp.sql.transaction(async (tx) => {
  await insertMembers(tx, members);
  await tx.run(
    `update member set must_change_password = false, temporary_id = false,
       email_verified = true, pending_steps = '{}', terms_version = $1, terms_accepted_at = now(),
       chosen_factor = case when user_id like 'btotp%' then 'totp' when user_id like 'bmail%' then 'email' end
     where user_id like 'bench%' or user_id like 'btotp%' or user_id like 'bmail%'`,
    [config.terms.version],
  );
  // Set-based, as an import would: one password credential per bench member.
  await tx.run(
    `insert into credential (id, member_id, kind, label, secret) select gen_random_uuid(), id, 'password', '', $1 from member where user_id like 'bench%' or user_id like 'btotp%' or user_id like 'bmail%'`,
    [passwordHash],
  );
  // (e) The mailed-code method, as the first login that chose it leaves it.
  await tx.run(
    `insert into credential (id, member_id, kind, label, last_used_at) select gen_random_uuid(), id, 'email', '', now() from member where user_id like 'bmail%'`,
  );
});
// (a) members have no second factor chosen (the password-only path); (d) members set their TOTP
// device up through the factor's own setup code, as a member does at the first login.
const totpSecrets: string[] = [];
// The members' devices are the bench's fixtures: set up as a member would, but nobody to tell (no mail relay here).
const ports = flowDeps({ config, orm, sql: idp.sql, hasher: idp.hasher, mail: { send: async () => ({ ok: true }) }, log: createLogger('silent') });
for (let i = 0; i < totpCount; i++) totpSecrets.push(await withSociety(idp.society, () => setUpTotpMember(i)));
writeFileSync(path.join(dir, TOTP_SECRETS_FILE), JSON.stringify(totpSecrets), { mode: 0o600 });

async function setUpTotpMember(i: number): Promise<string> {
  const member = await orm.em.fork().findOneOrFail(Member, { userId: benchTotpUserId(i) });
  const scratch = new Map<string, unknown>();
  const host: Host = {
    flow: 'console',
    member,
    locale: 'ja',
    t: (k) => k,
    ip: '127.0.0.1',
    actionUrl: '/bench',
    unionName: config.union.name.ja,
    query: {},
    attempt: proofAttempts(ports, '127.0.0.1'),
    scratch: {
      get: <T>(k: string) => scratch.get(k) as T | undefined,
      async set(k, v) {
        scratch.set(k, v);
      },
    },
    deps: ports,
  };
  await totpFactor.startSetup(host);
  const secret = openTotpSecret(config, member.id, scratch.get('totp.pendingSecret') as string);
  // The step before this one: this step and the next stay free for the first logins.
  const outcome = await totpFactor.finishSetup(host, { code: await totpCodeAt(secret, Date.now() / 1000 - 30), device_name: 'ベンチ端末' });
  const done =
    outcome.kind === 'verified'
      ? outcome
      : await totpFactor.finishSetup(host, { code: await totpCodeAt(secret, Date.now() / 1000), device_name: 'ベンチ端末' });
  if (done.kind !== 'verified') throw new Error(`TOTP setup failed for ${benchTotpUserId(i)}`);
  return secret;
}

await idp.listen(port, '127.0.0.1');
// The default society's issuer: a request must name it (the host it is served at) to reach it.
const url = config.issuer;

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await idp.close();
    await orm.close();
  } finally {
    await embedded.stop().catch(() => {});
    process.exit(code);
  }
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.on('disconnect', () => void stop(0));
process.on('message', (m: { type?: string; hash?: string }) => {
  if (m?.type === 'database') {
    tally(0);
    send({ type: 'database', statements: sqlCount, connectionMs });
  }
  // The warm-up logins check a cheap hash; the measured ones the hash of the configured cost.
  if (m?.type === 'passwordHash' && typeof m.hash === 'string') {
    void withSociety(idp.society, () => idp.sql.run(`update credential set secret = $1 where kind = 'password'`, [m.hash])).then(
      (credentials) => send({ type: 'passwordHashSet', credentials }),
      (err: Error) => send({ type: 'passwordHashSet', credentials: 0, error: err.message }),
    );
  }
  // Profiling only: heap figures, after a full collection when run with --expose-gc.
  if (m?.type === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 2 ** 20)]));
    send({ type: 'memory', usage: process.memoryUsage(), spaces });
  }
});
resetPeakMemory();
send({ type: 'ready', url, readyMs });

/** The society folders of the many-societies bench: kosmo as in the repository, then s0001 … */
function writeSocieties(root: string, count: number): string {
  const source = path.resolve('config/societies/kosmo');
  const kosmo = JSON.parse(readFileSync(path.join(source, 'society.json'), 'utf8')) as Record<string, unknown>;
  cpSync(source, path.join(root, 'societies', 'kosmo'), { recursive: true });
  writeFileSync(path.join(root, 'societies', 'kosmo', 'clients.json'), '[]');
  for (let i = 1; i < count; i++) {
    const id = `s${String(i).padStart(4, '0')}`;
    const folder = path.join(root, 'societies', id);
    mkdirSync(folder, { recursive: true });
    cpSync(path.join(source, 'terms'), path.join(folder, 'terms'), { recursive: true });
    writeFileSync(
      path.join(folder, 'society.json'),
      JSON.stringify({ ...kosmo, issuer: `\${ISSUER}/${id}`, look: { headerName: { ja: `健保 ${id}`, en: `Society ${id}` } } }),
    );
    writeFileSync(
      path.join(folder, 'clients.json'),
      JSON.stringify([
        {
          client_id: 'portal',
          client_secret: `${id}-portal-secret-0123456789`,
          redirect_uris: [`http://127.0.0.1:3999/${id}/callback`],
          post_logout_redirect_uris: [`http://127.0.0.1:3999/${id}/`],
        },
      ]),
    );
  }
  return root;
}
