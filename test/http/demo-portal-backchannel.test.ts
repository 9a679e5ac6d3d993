import { registerClient } from '../../src/config/clients.js';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startDemoPortal } from '../../src/demo-portal/index.js';
import { findForm } from '../support/browser-client.js';
import { startTestIdp, freePort, completeTotp, BrowserClient, type TestIdp, type Page } from '../support/idp.js';

/**
 * The demo portal's receiving side of back-channel logout, over real HTTP: the provider posts the
 * logout token to <portal>/backchannel-logout, the portal verifies it against the issuer's JWKS and
 * logs that session out.
 */
describe('the demo portal receives back-channel logout', () => {
  let t: TestIdp;
  let portal: { url: string; close(): Promise<void> };
  const CLIENT = { id: 'bc-demo-portal', secret: 'bc-demo-portal-secret-0123456789' };
  const password = 'Portal-back-1';

  beforeAll(async () => {
    const port = await freePort();
    const portalUrl = `http://localhost:${port}`;
    t = await startTestIdp({
      idpOptions: { backchannelPolicy: { pollSeconds: 0.5 } },
      configure: (c) => {
        c.clients.push(
          registerClient({
            client_id: CLIENT.id,
            client_secret: CLIENT.secret,
            redirect_uris: [`${portalUrl}/callback`],
            post_logout_redirect_uris: [`${portalUrl}/`],
            scope: 'openid offline_access profile email',
            backchannel_logout_uri: `${portalUrl}/backchannel-logout`,
            backchannel_logout_session_required: true,
          }),
        );
      },
    });
    portal = await startDemoPortal({ issuer: t.config.issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret, portalUrl, port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await portal?.close();
    await t?.close();
  });

  const loggedInAtPortal = (page: Page, name: string) => page.html.includes(name);

  async function logInAtPortal(userId: string, browser = new BrowserClient()): Promise<BrowserClient> {
    const loginPage = await browser.go(`${portal.url}/login`);
    const afterPassword = await browser.submit(loginPage, '/login', { user_id: userId, password });
    const home = await completeTotp(browser, afterPassword, userId);
    expect(home.url).toBe(`${portal.url}/`);
    return browser;
  }

  /** The portal's top page, until `done` holds (the token is delivered in the background). */
  async function portalPageUntil(browser: BrowserClient, done: (page: Page) => boolean): Promise<Page> {
    let page = await browser.go(`${portal.url}/`);
    for (let i = 0; i < 50 && !done(page); i++) {
      await new Promise((r) => setTimeout(r, 100));
      page = await browser.go(`${portal.url}/`);
    }
    return page;
  }

  it('a device logged out from the console is logged out of the portal; the other device stays', async () => {
    await t.addMember({ userId: 'bcdemo001', name: '門 花子', email: 'bcdemo001@example.jp' }, { password, onboarded: true });
    const phone = await logInAtPortal('bcdemo001');
    const pc = await logInAtPortal('bcdemo001');
    expect(loggedInAtPortal(await phone.go(`${portal.url}/`), '門 花子')).toBe(true);

    await pc.go(`${t.url}/account`);
    const phoneSession = await t.idp.sql.one<{ uid: string }>(`select uid from oidc_payload where model = 'Session' and id = $1`, [
      phone.cookie('kosmo.session')!.value,
    ]);
    const methods = await pc.go(`${t.url}/account/login-methods`);
    const done = await pc.submit(methods, `/account/sessions/${phoneSession!.uid}/logout`, {});
    expect(done.html).toContain('選択したデバイスからログアウトしました。');

    const after = await portalPageUntil(phone, (p) => !loggedInAtPortal(p, '門 花子'));
    expect(loggedInAtPortal(after, '門 花子')).toBe(false);
    expect(after.html).toContain('ログイン');
    expect(loggedInAtPortal(await pc.go(`${portal.url}/`), '門 花子')).toBe(true);
  });

  it('a logout token that arrives before the browser is back from 「ログアウトする」: the portal still says 「ログアウトしました。」', async () => {
    await t.addMember({ userId: 'bcdemo002', name: '先 太郎', email: 'bcdemo002@example.jp' }, { password, onboarded: true });
    const browser = await logInAtPortal('bcdemo002');
    const confirm = await browser.go(`${portal.url}/logout`);
    expect(confirm.html).toContain('ログアウトしてもよろしいですか？');
    const form = findForm(confirm.html, '/session/end/confirm');
    const answer = await browser.request(new URL(form.action, confirm.url).toString(), { form: { ...form.hidden, logout: 'yes' } });
    expect(answer.status).toBe(303);
    const back = answer.headers.get('location')!;
    expect(back.startsWith(`${portal.url}/?state=`)).toBe(true);
    // The token has logged the portal's session out before the browser follows the redirect.
    await portalPageUntil(browser, (p) => !loggedInAtPortal(p, '先 太郎'));
    const home = await browser.go(back);
    expect(home.url).toBe(`${portal.url}/`);
    expect(home.html).toContain('ログアウトしました。');
    expect(loggedInAtPortal(home, '先 太郎')).toBe(false);
  });

  it('refuses a token it cannot verify (400) and keeps the session', async () => {
    await t.addMember({ userId: 'bcdemo003', name: '偽 次郎', email: 'bcdemo003@example.jp' }, { password, onboarded: true });
    const browser = await logInAtPortal('bcdemo003');
    const forged = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({
        iss: t.url,
        aud: CLIENT.id,
        sub: 'x',
        iat: Math.floor(Date.now() / 1000),
        jti: 'j',
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      }),
    ).toString('base64url')}.`;
    const response = await fetch(`${portal.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: forged }),
    });
    expect(response.status).toBe(400);
    expect((await fetch(`${portal.url}/backchannel-logout`, { method: 'POST' })).status).toBe(400);
    expect(loggedInAtPortal(await browser.go(`${portal.url}/`), '偽 次郎')).toBe(true);
  });
});
