import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createLogger } from '../../src/logger.js';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, completeTotp, type TestIdp } from '../support/idp.js';
import { createTestDatabase } from '../support/database.js';
import { startFreezableProxy, type FreezableProxy } from '../support/freezable-proxy.js';

/**
 * Issue 11, item 11: PostgreSQL stops answering (as under SIGSTOP). /readyz says 503 within its
 * bound, a login fails fast with a clear page and a log line, and everything recovers by itself.
 */
describe('a frozen PostgreSQL', () => {
  let t: TestIdp;
  let proxy: FreezableProxy;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const lines: { level: number; msg: string }[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await startFreezableProxy(db.url);
    const log = createLogger('warn', {
      write: (line: string) => {
        lines.push(JSON.parse(line) as { level: number; msg: string });
      },
    });
    t = await startTestIdp({ databaseUrl: proxy.url, log });
    await t.addMember({ userId: 'frozen001' }, { password: 'Frozen-pass-1', onboarded: true });
  });
  afterAll(async () => {
    proxy.unfreeze();
    await t.close();
    await proxy.close();
    await db.drop();
  });

  async function loginScreen() {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    return { browser, page: await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal }) };
  }
  const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = Date.now();
    const value = await fn();
    return { value, ms: Date.now() - started };
  };

  it('answers /readyz 503 and a login with a 503 page within bounds, logs it, and recovers when it answers again', async () => {
    const { browser, page } = await loginScreen();
    const authUrl = (await (await testRelyingParty(t.url)).authorizationRequest()).url;
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    proxy.freeze();
    try {
      const ready = await timed(() => fetch(`${t.url}/readyz`));
      expect(ready.value.status).toBe(503);
      expect(ready.ms).toBeLessThan(3000);
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

      const login = await timed(() => browser.submit(page, '/login', { user_id: 'frozen001', password: 'Frozen-pass-1' }, { stopAt: isPortal }));
      expect(login.value.status).toBe(503);
      expect(login.value.html).toContain('しばらく時間をおいてから再度お試しください。');
      expect(login.ms).toBeLessThan(8000);
      expect(lines.some((l) => l.level >= 50 && l.msg === 'database unavailable')).toBe(true);

      // A portal sending a member to /auth meanwhile: the provider's own page says the same.
      const auth = await timed(() => new BrowserClient().go(authUrl, { stopAt: isPortal }));
      expect(auth.value.status).toBe(503);
      expect(auth.value.html).toContain('しばらく時間をおいてから再度お試しください。');
      expect(auth.ms).toBeLessThan(8000);
    } finally {
      proxy.unfreeze();
    }
    let status = 0;
    const deadline = Date.now() + 15_000;
    while (status !== 200 && Date.now() < deadline) {
      status = (await fetch(`${t.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    const again = await loginScreen();
    const after = await completeTotp(
      again.browser,
      await again.browser.submit(again.page, '/login', { user_id: 'frozen001', password: 'Frozen-pass-1' }, { stopAt: isPortal }),
      'frozen001',
    );
    expect(isPortal(after.url)).toBe(true);
  });
});
