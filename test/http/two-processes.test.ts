import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { findForm } from '../support/browser-client.js';

describe('two processes on one database', () => {
  let a: TestIdp;
  let b: TestIdp;
  beforeAll(async () => {
    a = await startTestIdp();
    b = await startTestIdp({ databaseUrl: a.databaseUrl });
    await a.addMember({ userId: 'twoproc01', symbol: '22', number: '7777777', birthdate: '1988-08-08' }, { password: 'Two-procs-1', onboarded: true });
  });
  afterAll(async () => { await b.close(); await a.close(); });

  /** The same path on the other instance, as a load balancer would send it. */
  const on = (instance: TestIdp, url: string) => { const u = new URL(url); return `${instance.url}${u.pathname}${u.search}`; };

  it('serves one login between them: authorize on A, password on B, resume on A, token from B', async () => {
    // Both instances share the issuer of A, as processes behind one load balancer do.
    const browser = new BrowserClient();
    const rp = await testRelyingParty(a.url);
    const request = await rp.authorizationRequest();
    const loginPage = await browser.go(request.url, { stopAt: isPortal });
    expect(loginPage.html).toContain('ログイン状態の保存');
    const form = findForm(loginPage.html, '/login');
    const posted = await browser.request(on(b, new URL(form.action, loginPage.url).toString()), { form: { ...form.hidden, user_id: 'twoproc01', password: 'Two-procs-1' } });
    expect(posted.status).toBe(303);
    const continued = await browser.request(on(b, new URL(posted.headers.get('location')!, b.url).toString()));
    const resume = new URL(continued.headers.get('location')!, a.url).toString();
    const back = await browser.go(on(a, resume), { stopAt: isPortal });
    expect(isPortal(back.url)).toBe(true);
    const tokens = await (await testRelyingParty(a.url)).exchange.call(rp, back.url, request);
    expect(tokens.claims()!.preferred_username).toBe('twoproc01');
  });

  it('counts lockout failures made on either instance together', async () => {
    await a.addMember({ userId: 'twoproc02' }, { password: 'Two-procs-2', onboarded: true });
    for (const instance of [a, b, a]) {
      const browser = new BrowserClient();
      const rp = await testRelyingParty(instance.url);
      const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
      await browser.submit(page, '/login', { user_id: 'twoproc02', password: 'wrong' });
    }
    const row = await a.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', ['twoproc02']);
    expect(row!.failed_logins).toBe(3);
  });
});
