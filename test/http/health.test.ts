import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { asDatabaseAdmin } from '../support/database.js';

describe('health endpoints for the load balancer', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  const databaseName = () => new URL(t.databaseUrl).pathname.slice(1);

  it('reports liveness at /healthz', async () => {
    const live = await fetch(`${t.url}/healthz`);
    expect(live.status).toBe(200);
    expect(live.headers.get('cache-control')).toBe('no-store');
    expect(await live.json()).toEqual({ status: 'ok' });
  });

  it('reports readiness at /readyz while the database answers', async () => {
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('reports not ready, but still alive, while the database refuses connections, and serves logins again after', async () => {
    await t.addMember({ userId: 'health001' }, { password: 'Health-pass-1', onboarded: true });
    // Warm both connection pools (the ORM's and the prepared statements'), so the outage cuts live connections.
    expect(isPortal((await loginThroughPortal(t.url, new BrowserClient(), 'health001', 'Health-pass-1')).after.url)).toBe(true);
    const name = databaseName();
    await asDatabaseAdmin(async (admin) => {
      await admin.query(`alter database ${name} allow_connections false`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
    });
    try {
      const notReady = await fetch(`${t.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'database unavailable' });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      await asDatabaseAdmin((admin) => admin.query(`alter database ${name} allow_connections true`));
    }
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await fetch(`${t.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    const { after } = await loginThroughPortal(t.url, new BrowserClient(), 'health001', 'Health-pass-1');
    expect(isPortal(after.url)).toBe(true);
  });
});
