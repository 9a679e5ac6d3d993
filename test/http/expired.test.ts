import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';

const RESTART = 'href="http://localhost:3999/login"';

describe('a login that waited too long', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'expire001' }, { password: 'Expire-pass-1', onboarded: true });
  });
  afterAll(async () => { await t.close(); });

  async function openLogin() {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const uid = new URL(page.url).pathname.split('/')[2]!;
    return { browser, page, uid };
  }
  const forget = (uid: string) => t.idp.sql.run(`delete from oidc_payload where model = 'Interaction' and id = $1`, [uid]);

  function expectFriendlyPage(status: number, html: string) {
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(html).toContain('ログインの有効期限が切れました');
    expect(html).toContain('Login with OpenID Connect');
    expect(html).toContain(RESTART);
    expect(html).not.toMatch(/invalid_request|SessionNotFound|error_description/);
  }

  it('shows the friendly page with a fresh start for the login screen', async () => {
    const { browser, page, uid } = await openLogin();
    await forget(uid);
    const again = await browser.go(page.url);
    expectFriendlyPage(again.status, again.html);
  });

  it('shows it when the password is posted after the interaction is gone', async () => {
    const { browser, page, uid } = await openLogin();
    await forget(uid);
    const answer = await browser.submit(page, '/login', { user_id: 'expire001', password: 'Expire-pass-1' }, { stopAt: isPortal });
    expectFriendlyPage(answer.status, answer.html);
  });

  it('shows it when the interaction expired by time', async () => {
    const { browser, page, uid } = await openLogin();
    await t.idp.sql.run(`update oidc_payload set expires_at = now() - interval '1 second' where model = 'Interaction' and id = $1`, [uid]);
    const answer = await browser.submit(page, '/login', { user_id: 'expire001', password: 'Expire-pass-1' }, { stopAt: isPortal });
    expectFriendlyPage(answer.status, answer.html);
  });

  it('shows it when the browser lost the interaction cookie', async () => {
    const { browser, page } = await openLogin();
    browser.dropCookies((name) => name.startsWith('kosmo.interaction'));
    const answer = await browser.go(page.url);
    expectFriendlyPage(answer.status, answer.html);
  });

  it('shows it when the resume step finds the interaction gone', async () => {
    const { browser, page, uid } = await openLogin();
    const response = await browser.request(new URL(`/interaction/${uid}/login`, t.url).toString(), {
      form: { user_id: 'expire001', password: 'Expire-pass-1', _csrf: /name="_csrf" value="([^"]+)"/.exec(page.html)![1]! },
    });
    const continueUrl = new URL(response.headers.get('location')!, t.url).toString();
    const resumeResponse = await browser.request(continueUrl);
    const resumeUrl = new URL(resumeResponse.headers.get('location')!, t.url).toString();
    expect(resumeUrl).toContain(`/auth/${uid}`);
    await forget(uid);
    const answer = await browser.go(resumeUrl, { stopAt: isPortal });
    expectFriendlyPage(answer.status, answer.html);
  });
});
