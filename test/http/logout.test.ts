import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, TEST_CLIENT, type TestIdp } from '../support/idp.js';
import { findForm } from '../support/browser-client.js';

describe("RP-initiated logout from the portal's ログアウト", () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'logout001' }, { password: 'Logout-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  async function loggedIn() {
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'logout001', 'Logout-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const sessionId = browser.cookie('kosmo.session')!.value;
    return { browser, rp, tokens, sessionId };
  }
  const sessionStored = async (id: string) => Boolean(await t.idp.sql.one(`select 1 from oidc_payload where model = 'Session' and id = $1`, [id]));
  const endSessionUrl = (rp: Awaited<ReturnType<typeof loggedIn>>['rp'], idToken: string, extra: Record<string, string> = {}) =>
    oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: idToken, post_logout_redirect_uri: TEST_CLIENT.postLogout, ...extra }).toString();

  it("shows 「ログアウトしてもよろしいですか？」 with 「ログアウトする」 and the provider's form", async () => {
    const { browser, rp, tokens } = await loggedIn();
    const confirm = await browser.go(endSessionUrl(rp, tokens.id_token!), { stopAt: isPortal });
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('<p>ログアウトしてもよろしいですか？</p>');
    expect(confirm.html).toMatch(/<form id="op\.logoutForm" method="post" action="[^"]*\/session\/end\/confirm">/);
    expect(confirm.html).toMatch(/<input type="hidden" name="xsrf" value="[0-9a-f]{16,}"\/?>/);
    expect(confirm.html).toMatch(/<button type="submit" form="op\.logoutForm" name="logout" value="yes"[^>]*>ログアウトする<\/button>/);
    expect(confirm.html).toMatch(/<button type="submit" form="op\.logoutForm"[^>]*>ポータルに戻る<\/button>/);
  });

  it('ends the session on ログアウトする and goes back to the portal; the next login asks for the password again', async () => {
    const { browser, rp, tokens, sessionId } = await loggedIn();
    expect(await sessionStored(sessionId)).toBe(true);
    const confirm = await browser.go(endSessionUrl(rp, tokens.id_token!, { state: 'bye-123' }), { stopAt: isPortal });
    const form = findForm(confirm.html, '/session/end/confirm');
    expect(Object.keys(form.hidden)).toEqual(['xsrf']);
    const response = await browser.request(new URL(form.action, confirm.url).toString(), { form: { ...form.hidden, logout: 'yes' } });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${TEST_CLIENT.postLogout}?state=bye-123`);
    expect(await sessionStored(sessionId)).toBe(false);
    expect(browser.cookie('kosmo.session')).toBeUndefined();

    const again = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(isPortal(again.url)).toBe(false);
    expect(again.url).toMatch(/\/interaction\/[A-Za-z0-9_-]+$/);
    expect(again.html).toContain('ログイン状態の保存');
    // Refresh tokens were bound to the session: they end with it.
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('keeps the provider session on ポータルに戻る and goes back to the portal', async () => {
    const { browser, rp, tokens } = await loggedIn();
    const confirm = await browser.go(endSessionUrl(rp, tokens.id_token!), { stopAt: isPortal });
    const back = await browser.submit(confirm, '/session/end/confirm', {}, { stopAt: isPortal });
    expect(back.url).toBe(TEST_CLIENT.postLogout);
    // The provider gives the kept session a fresh identifier; it is still stored under the cookie's new value.
    expect(await sessionStored(browser.cookie('kosmo.session')!.value)).toBe(true);
    const silent = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(new URL(silent.url).searchParams.get('code')).toBeTruthy();
  });

  it('shows our logged-out page with a way back to the portal when no post_logout_redirect_uri is given', async () => {
    const { browser, rp, tokens, sessionId } = await loggedIn();
    const confirm = await browser.go(oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token! }).toString(), { stopAt: isPortal });
    expect(confirm.html).toContain('ログアウトしてもよろしいですか？');
    const done = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });
    expect(done.status).toBe(200);
    expect(done.html).toContain('<h1>ログアウトしました</h1>');
    expect(done.html).toContain('href="http://localhost:3999/login"');
    expect(await sessionStored(sessionId)).toBe(false);
  });

  it('refuses a forged logout form with an error page, not a 500, and keeps the session', async () => {
    const { browser, rp, tokens, sessionId } = await loggedIn();
    const confirm = await browser.go(endSessionUrl(rp, tokens.id_token!), { stopAt: isPortal });
    const form = findForm(confirm.html, '/session/end/confirm');
    const response = await browser.request(new URL(form.action, confirm.url).toString(), { form: { xsrf: 'forged', logout: 'yes' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('<h1>エラーが発生しました</h1>');
    expect(await sessionStored(sessionId)).toBe(true);
  });

  it('asks in English for a member who chose English', async () => {
    const { browser, rp, tokens } = await loggedIn();
    await browser.request(`${t.url}/healthz?lang=en`);
    const confirm = await browser.go(endSessionUrl(rp, tokens.id_token!), { stopAt: isPortal });
    expect(confirm.html).toContain('<html lang="en">');
    expect(confirm.html).toContain('Are you sure you want to log out?');
    const back = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });
    expect(back.url).toBe(TEST_CLIENT.postLogout);
  });
});

describe('switching language on the logout confirmation', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'langout01' }, { password: 'Lang-out-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps the logout request, so ログアウトする still returns to the portal', async () => {
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'langout01', 'Lang-out-1');
    const tokens = await rp.exchange(after.url, request);
    const endSession = oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://localhost:3999/' });
    const confirm = await browser.go(endSession.toString(), { stopAt: isPortal });
    const english = /<a href="([^"]*lang=en[^"]*)"/.exec(confirm.html)![1]!.replace(/&amp;/g, '&');
    expect(english).toContain('id_token_hint=');
    const page = await browser.go(new URL(english, confirm.url).toString(), { stopAt: isPortal });
    expect(page.html).toContain('Are you sure you want to log out?');
    const back = await browser.submit(page, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });
    expect(back.url).toBe('http://localhost:3999/');
    // The same form again (a double submit, an old tab) explains itself in logout terms.
    const again = await browser.submit(page, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
    expect(again.html).toContain('This logout page has expired or the logout was already handled.');
    expect(again.html).not.toContain('login request');
  });
});
