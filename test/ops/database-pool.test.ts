import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { freePort, isPortal, passwordAtPortal, startTestIdp, TEST_CLIENT } from '../support/idp.js';
import { startIdpProcess, testProcessConfig, type IdpProcess } from '../support/idp-process.js';
import { asDatabaseAdmin, createTestDatabase, type TestDatabase } from '../support/database.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp-capture.js';
import { mailedCode } from '../support/factors.js';

/** `src/main.ts` in its own process on a database of its own, with the pool settings in `env`. */
interface PooledProvider {
  db: TestDatabase;
  idp: IdpProcess;
  issuer: string;
  /** The provider's connections to its database (the application role's; the owner only migrated). */
  connections(): Promise<number>;
  close(): Promise<void>;
}

async function startPooledProvider(name: string, env: Record<string, string>, seed?: (db: TestDatabase) => Promise<void>): Promise<PooledProvider> {
  const db = await createTestDatabase();
  await seed?.(db);
  const dir = mkdtempSync(path.join(os.tmpdir(), `kosmo-${name}-`));
  const port = await freePort();
  const idp = await startIdpProcess({
    name,
    port,
    managementPort: await freePort(),
    db,
    dir,
    configDir: testProcessConfig(dir),
    env: { ISSUER: `http://127.0.0.1:${port}`, SHUTDOWN_DELAY_SECONDS: '0', ...env },
  });
  return {
    db,
    idp,
    issuer: `http://127.0.0.1:${port}/kosmo`,
    connections: () =>
      asDatabaseAdmin(async (admin) => {
        const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1 and usename = $2', [
          db.name,
          decodeURIComponent(new URL(db.url).username),
        ]);
        return rows[0]!.n;
      }),
    async close() {
      if (idp.child.exitCode === null) idp.child.kill('SIGKILL');
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An operator sizes the provider's PostgreSQL pool (README, Settings and Sizing): with
 * DATABASE_POOL_SIZE=2 a process never holds more than two connections, however many requests
 * arrive at once, and with DATABASE_POOL_IDLE_SECONDS=1 it closes them once they have had nothing to do.
 */
describe('the PostgreSQL pool an operator sets (DATABASE_POOL_SIZE, DATABASE_POOL_IDLE_SECONDS)', () => {
  let provider: PooledProvider;

  beforeAll(async () => {
    provider = await startPooledProvider('pooled', { DATABASE_POOL_SIZE: '2', DATABASE_POOL_IDLE_SECONDS: '1' });
  }, 120_000);

  afterAll(async () => {
    await provider?.close();
  });

  /** A portal presenting a refresh token the provider never issued: read from the database, refused. */
  const unknownRefresh = async () => {
    const response = await fetch(`${provider.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${TEST_CLIENT.id}:${TEST_CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: `unknown-${Math.random().toString(36).slice(2)}` }).toString(),
    });
    return { status: response.status, body: (await response.json()) as { error?: string } };
  };

  it('holds at most DATABASE_POOL_SIZE connections under load, and every request is answered', async () => {
    let peak = 0;
    let loading = true;
    const watch = (async () => {
      while (loading) {
        peak = Math.max(peak, await provider.connections());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const answers = [];
    for (let round = 0; round < 5; round++) answers.push(...(await Promise.all(Array.from({ length: 30 }, unknownRefresh))));
    loading = false;
    await watch;
    expect(answers.every((a) => a.status === 400 && a.body.error === 'invalid_grant')).toBe(true);
    expect(peak).toBe(2);
  }, 60_000);

  it('closes connections idle for DATABASE_POOL_IDLE_SECONDS, and opens one again for the next request', async () => {
    await Promise.all(Array.from({ length: 10 }, unknownRefresh));
    expect(await provider.connections()).toBeGreaterThan(0);
    let left = Infinity;
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await provider.connections();
    }
    expect(left).toBe(0);
    expect((await unknownRefresh()).body.error).toBe('invalid_grant');
  }, 60_000);
});

/**
 * No request needs a second connection while it holds one (a login's transaction does all its work
 * on its own): with DATABASE_POOL_SIZE=1, members logging in at the same moment wait their turn
 * instead of a process that waits for itself until its connect timeout.
 */
describe('a process with one database connection (DATABASE_POOL_SIZE=1)', () => {
  let smtp: SmtpCapture;
  let provider: PooledProvider;
  const members = ['single001', 'single002', 'single003', 'single004'];

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    provider = await startPooledProvider('single', { SMTP_URL: smtp.url, DATABASE_POOL_SIZE: '1' }, async (db) => {
      const seed = await startTestIdp({ databaseUrl: db.url });
      for (const userId of members) {
        await seed.addMember({ userId, email: `${userId}@example.jp` }, { password: 'Single-pass-1', onboarded: true, factor: 'email' });
      }
      await seed.close();
    });
  }, 120_000);

  afterAll(async () => {
    await provider?.close();
    await smtp?.close();
  });

  it('logs four members in at once with the mailed code, and refreshes their tokens', async () => {
    const login = async (userId: string) => {
      const { browser, rp, request, page } = await passwordAtPortal(provider.issuer, userId, 'Single-pass-1');
      const mail = await smtp.waitFor((m) => m.to.includes(`${userId}@example.jp`));
      const done = await browser.submit(page, 'factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
      expect(isPortal(done.url)).toBe(true);
      const tokens = await rp.exchange(done.url, request);
      // As a portal refreshes (openid-client): the rotated refresh token comes back.
      const refreshed = await oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
      return typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token;
    };
    const started = performance.now();
    expect(await Promise.all(members.map(login))).toEqual([true, true, true, true]);
    // Each waited for the one connection, never for the 3 s connect timeout.
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);
});
