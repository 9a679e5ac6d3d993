import { registerClient } from '../../src/config/clients.js';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { startTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient, totpApp, totpFields, type TestIdp } from '../support/idp.js';
import { findForm } from '../support/browser-client.js';

const RESTART_LINK = '<a class="btn" href="http://localhost:3999/login">Login with OpenID Connect</a>';
const RAW_PROTOCOL = /invalid_request|invalid_grant|SessionNotFound|session_not_found|error_description|interaction session|not found or expired|<code>/i;

function expectFriendlyPage(status: number, html: string, link = RESTART_LINK) {
  expect(status).toBe(400);
  expect(html).toContain('<h1>ログインの有効期限が切れました</h1>');
  expect(html).toContain('「Login with OpenID Connect」に進み、もう一度ログインしてください。');
  expect(html).toContain(link);
  expect(html).not.toMatch(RAW_PROTOCOL);
}

describe('a login that waited too long', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.clients.push(
          registerClient({
            client_id: 'home-portal',
            client_secret: 'home-portal-secret-0123456789',
            redirect_uris: ['http://localhost:3998/cb'],
            post_logout_redirect_uris: ['http://localhost:3998/bye'],
            scope: 'openid profile',
          }),
        );
      },
    });
    await t.addMember({ userId: 'expire001' }, { password: 'Expire-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  async function openLogin(browser = new BrowserClient(), extra: Record<string, string> = {}) {
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest(extra)).url, { stopAt: isPortal });
    expect(page.html).toContain('ログイン状態の保存');
    const uid = new URL(page.url).pathname.split('/')[2]!;
    return { browser, page, uid };
  }
  const forget = (uid: string) => t.idp.sql.run(`delete from oidc_payload where model = 'Interaction' and id = $1`, [uid]);

  it('shows the friendly page with a fresh start when the login screen is reloaded', async () => {
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

  it('shows it when the stored interaction has expired', async () => {
    const { browser, page, uid } = await openLogin();
    await t.idp.sql.run(`update oidc_payload set expires_at = now() - interval '1 second' where model = 'Interaction' and id = $1`, [uid]);
    const answer = await browser.submit(page, '/login', { user_id: 'expire001', password: 'Expire-pass-1' }, { stopAt: isPortal });
    expectFriendlyPage(answer.status, answer.html);
  });

  it('shows it when the browser lost the interaction cookie', async () => {
    const { browser, page } = await openLogin();
    browser.dropCookies((name) => name.startsWith('kosmo.interaction'));
    const reload = await browser.go(page.url);
    expectFriendlyPage(reload.status, reload.html);
    const posted = await browser.submit(page, '/login', { user_id: 'expire001', password: 'Expire-pass-1' }, { stopAt: isPortal });
    expectFriendlyPage(posted.status, posted.html);
  });

  it('shows it when the resume step (/auth/:uid) finds the interaction gone', async () => {
    const { browser, page, uid } = await openLogin();
    const form = findForm(page.html, '/login');
    const posted = await browser.request(new URL(form.action, page.url).toString(), {
      form: { ...form.hidden, user_id: 'expire001', password: 'Expire-pass-1' },
    });
    const factorPage = await browser.go(new URL(posted.headers.get('location')!, t.url).toString());
    const codeForm = findForm(factorPage.html, '/factor');
    const coded = await browser.request(new URL(codeForm.action, factorPage.url).toString(), {
      form: { ...codeForm.hidden, ...(await totpFields(totpApp('expire001')!)) },
    });
    const resumeUrl = new URL(coded.headers.get('location')!, t.url).toString();
    expect(new URL(resumeUrl).pathname).toBe(`/auth/${uid}`);
    await forget(uid);
    const answer = await browser.go(resumeUrl, { stopAt: isPortal });
    expect(isPortal(answer.url)).toBe(false);
    expectFriendlyPage(answer.status, answer.html);
  });

  it('shows it for a resume URL this browser never started, linking to the first portal in config', async () => {
    const answer = await new BrowserClient().go(`${t.url}/auth/NoSuchInteraction0123456789abcdefghijklmn`, { stopAt: isPortal });
    const first = t.config.clients[0]!;
    expect(first.client_id).toBe('kosmo-demo-portal');
    expectFriendlyPage(answer.status, answer.html, `<a class="btn" href="${first.initiate_login_uri}">Login with OpenID Connect</a>`);
  });

  it('says the login is done, not expired, when the login form is posted again after it finished (back button)', async () => {
    const browser = new BrowserClient();
    const { loginPage, after } = await loginThroughPortal(t.url, browser, 'expire001', 'Expire-pass-1');
    expect(isPortal(after.url)).toBe(true);
    const again = await browser.submit(loginPage, '/login', { user_id: 'expire001', password: 'Expire-pass-1' }, { stopAt: isPortal });
    expect(isPortal(again.url)).toBe(false);
    // Logged in at the provider: the login is done, not expired, and the way on is back to the portal.
    expect(again.status).toBe(200);
    expect(again.html).toContain('<h1>ログインは完了しています</h1>');
    expect(again.html).not.toContain('一定時間が経過');
    expect(again.html).toContain('ポータルに戻る</a>');
    expect(again.html).not.toMatch(RAW_PROTOCOL);
  });

  it("links to the portal's home when the portal has no initiate_login_uri", async () => {
    const home = await oidc.discovery(new URL(t.url), 'home-portal', undefined, oidc.ClientSecretBasic('home-portal-secret-0123456789'), {
      execute: [oidc.allowInsecureRequests],
    });
    const browser = new BrowserClient();
    const url = oidc.buildAuthorizationUrl(home, { redirect_uri: 'http://localhost:3998/cb', scope: 'openid', state: 'home-state-1' });
    const page = await browser.go(url.toString(), { stopAt: (u) => u.startsWith('http://localhost:3998/') });
    const uid = new URL(page.url).pathname.split('/')[2]!;
    await forget(uid);
    const answer = await browser.go(page.url);
    expectFriendlyPage(answer.status, answer.html, '<a class="btn" href="http://localhost:3998/">Login with OpenID Connect</a>');
  });

  it('speaks English to a member who chose English', async () => {
    const browser = new BrowserClient();
    const { page, uid } = await openLogin(browser);
    const en = await browser.go(`${page.url}?lang=en`);
    expect(en.html).toContain('<html lang="en">');
    await forget(uid);
    const answer = await browser.submit(en, '/login', { user_id: 'expire001', password: 'Expire-pass-1' }, { stopAt: isPortal });
    expect(answer.status).toBe(400);
    expect(answer.html).toContain('<h1>Your login has expired</h1>');
    expect(answer.html).toContain(RESTART_LINK);
    expect(answer.html).not.toMatch(RAW_PROTOCOL);
  });
});

describe('a login left open longer than the configured interaction time', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.ttl.interactionSeconds = 1;
      },
    });
    await t.addMember({ userId: 'expire002' }, { password: 'Expire-pass-2', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers the password, typed too late, with the friendly page instead of logging in', async () => {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(page.html).toContain('ログイン状態の保存');
    await sleep(1500);
    const answer = await browser.submit(page, '/login', { user_id: 'expire002', password: 'Expire-pass-2' }, { stopAt: isPortal });
    expect(isPortal(answer.url)).toBe(false);
    expectFriendlyPage(answer.status, answer.html);
  });
});
