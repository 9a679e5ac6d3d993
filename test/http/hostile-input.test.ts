import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, TEST_CLIENT, completeTotp, type TestIdp } from '../support/idp.js';
import { findForm, type Page } from '../support/browser-client.js';

/**
 * Issue 11, items 7, 8 and 9: every hostile value sent to every route and field. The answer is
 * always a 4xx with a clear page (or a JSON error for a portal's back end), never a 5xx; values
 * that are strange but legal get an ordinary answer.
 */
const LONG_ADDRESS = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.jp`;
const HOSTILE: { label: string; encoded: string; refused: boolean }[] = [
  { label: 'NUL byte', encoded: 'a%00b', refused: true },
  { label: 'NUL alone', encoded: '%00', refused: true },
  { label: 'value over 8 KB', encoded: 'x'.repeat(9000), refused: true },
  { label: 'repeated name (array)', encoded: 'ARRAY', refused: true },
  { label: 'UTF-8 bytes of a lone surrogate', encoded: '%ED%A0%80', refused: false },
  { label: 'truncated UTF-8', encoded: '%E3%81', refused: false },
  { label: '14 × U+FDFA (expands under NFKC)', encoded: encodeURIComponent('\uFDFA'.repeat(14)), refused: false },
  { label: 'a valid 251-character address', encoded: encodeURIComponent(LONG_ADDRESS), refused: false },
];

interface Route {
  name: string;
  method: 'GET' | 'POST';
  /** Where to send it; `fields` are the names tried one at a time, `base` the other values. */
  url: () => string;
  base: () => Record<string, string>;
  fields: string[];
  browser?: () => BrowserClient;
  headers?: Record<string, string>;
}

function encodeForm(base: Record<string, string>, field: string, encoded: string): string {
  const parts = Object.entries(base)
    .filter(([k]) => k !== field)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  if (encoded === 'ARRAY') parts.push(`${field}=one`, `${field}=two`);
  else parts.push(`${field}=${encoded}`);
  return parts.join('&');
}

describe('hostile values at every route', () => {
  let t: TestIdp;
  let loginBrowser: BrowserClient;
  let loginPage: Page;
  let recoveryBrowser: BrowserClient;
  let recoveryPasswordPage: Page;
  let recoveryUserIdPage: Page;
  let uid: string;
  const basic = `Basic ${Buffer.from(`${TEST_CLIENT.id}:${TEST_CLIENT.secret}`).toString('base64')}`;
  const portalBackEnd = { authorization: basic, accept: 'application/json' };

  beforeAll(async () => {
    t = await startTestIdp();
    t.config.union.loginRateLimit = { perIp: 100_000, windowSeconds: 60 };
    loginBrowser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    loginPage = await loginBrowser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(loginPage.url)![1]!;
    recoveryBrowser = new BrowserClient();
    recoveryPasswordPage = await recoveryBrowser.go(`${t.url}/recovery/password`);
    recoveryUserIdPage = await recoveryBrowser.go(`${t.url}/recovery/user-id`);
  });
  afterAll(async () => {
    await t.close();
  });

  const csrf = (page: Page, action: string) => findForm(page.html, action).hidden;
  const routes: Route[] = [
    {
      name: 'GET /auth',
      method: 'GET',
      url: () => `${t.url}/auth`,
      base: () => ({
        client_id: TEST_CLIENT.id,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: TEST_CLIENT.redirect,
        state: 's',
        nonce: 'n',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }),
      fields: [
        'client_id',
        'state',
        'nonce',
        'login_hint',
        'ui_locales',
        'acr_values',
        'display',
        'claims_locales',
        'redirect_uri',
        'scope',
        'prompt',
        'max_age',
        'response_type',
        'code_challenge',
      ],
    },
    {
      name: 'GET /session/end',
      method: 'GET',
      url: () => `${t.url}/session/end`,
      base: () => ({}),
      fields: ['state', 'id_token_hint', 'post_logout_redirect_uri', 'client_id', 'ui_locales'],
    },
    { name: 'GET /.well-known/openid-configuration', method: 'GET', url: () => `${t.url}/.well-known/openid-configuration`, base: () => ({}), fields: ['x'] },
    { name: 'GET /me', method: 'GET', url: () => `${t.url}/me`, base: () => ({}), fields: ['access_token'] },
    {
      name: 'POST /token (code)',
      method: 'POST',
      url: () => `${t.url}/token`,
      headers: portalBackEnd,
      base: () => ({ grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: TEST_CLIENT.redirect, code_verifier: 'v'.repeat(43) }),
      fields: ['code', 'redirect_uri', 'code_verifier', 'grant_type', 'client_id'],
    },
    {
      name: 'POST /token (refresh)',
      method: 'POST',
      url: () => `${t.url}/token`,
      headers: portalBackEnd,
      base: () => ({ grant_type: 'refresh_token', refresh_token: 'no-such-token' }),
      fields: ['refresh_token', 'scope'],
    },
    {
      name: 'POST /token/introspection',
      method: 'POST',
      url: () => `${t.url}/token/introspection`,
      headers: portalBackEnd,
      base: () => ({ token: 'no-such-token' }),
      fields: ['token', 'token_type_hint'],
    },
    {
      name: 'POST /token/revocation',
      method: 'POST',
      url: () => `${t.url}/token/revocation`,
      headers: portalBackEnd,
      base: () => ({ token: 'no-such-token' }),
      fields: ['token', 'token_type_hint'],
    },
    {
      name: 'POST /interaction/:uid/login',
      method: 'POST',
      url: () => `${t.url}/interaction/${uid}/login`,
      browser: () => loginBrowser,
      base: () => ({ ...csrf(loginPage, '/login'), user_id: 'nobody01', password: 'Some-pass-1' }),
      fields: ['user_id', 'password', 'remember', '_csrf'],
    },
    {
      name: 'POST /interaction/:uid/forgot-password',
      method: 'POST',
      url: () => `${t.url}/interaction/${uid}/forgot-password`,
      browser: () => loginBrowser,
      base: () => ({ ...csrf(loginPage, '/login'), user_id: 'nobody01' }),
      fields: ['user_id'],
    },
    {
      name: 'POST /interaction/:uid/forgot-user-id',
      method: 'POST',
      url: () => `${t.url}/interaction/${uid}/forgot-user-id`,
      browser: () => loginBrowser,
      base: () => ({ ...csrf(loginPage, '/login'), email: 'nobody@example.jp', birthdate: '19800101' }),
      fields: ['email', 'birthdate'],
    },
    {
      name: 'POST /recovery/password',
      method: 'POST',
      url: () => `${t.url}/recovery/password`,
      browser: () => recoveryBrowser,
      base: () => ({ ...csrf(recoveryPasswordPage, '/recovery/password'), user_id: 'nobody01' }),
      fields: ['user_id', '_csrf'],
    },
    {
      name: 'POST /recovery/user-id',
      method: 'POST',
      url: () => `${t.url}/recovery/user-id`,
      browser: () => recoveryBrowser,
      base: () => ({ ...csrf(recoveryUserIdPage, '/recovery/user-id'), email: 'nobody@example.jp', birthdate: '19800101' }),
      fields: ['email', 'birthdate'],
    },
    {
      name: 'POST /recovery/password/reset/:token',
      method: 'POST',
      url: () => `${t.url}/recovery/password/reset/${'t'.repeat(43)}`,
      browser: () => recoveryBrowser,
      base: () => ({ password: 'New-pass-1', password_confirmation: 'New-pass-1' }),
      fields: ['password', 'password_confirmation'],
    },
    {
      name: 'POST /verify-email/:token',
      method: 'POST',
      url: () => `${t.url}/verify-email/${'t'.repeat(43)}`,
      browser: () => recoveryBrowser,
      base: () => ({}),
      fields: ['_csrf'],
    },
    // The account console, signed out: refused values never reach it, others are sent to log in.
    { name: 'GET /account', method: 'GET', url: () => `${t.url}/account`, base: () => ({}), fields: ['referrer'] },
    {
      name: 'POST /account',
      method: 'POST',
      url: () => `${t.url}/account`,
      base: () => ({ locale: 'ja', user_id: 'someone01', method: 'email' }),
      fields: ['locale', 'user_id', 'method', '_csrf'],
    },
    {
      name: 'POST /account/password',
      method: 'POST',
      url: () => `${t.url}/account/password`,
      base: () => ({ password: 'New-pass-1', password_confirmation: 'New-pass-1' }),
      fields: ['password', 'current_password'],
    },
    {
      name: 'POST /interaction/:uid/factor/recovery-code',
      method: 'POST',
      url: () => `${t.url}/interaction/${uid}/factor/recovery-code`,
      browser: () => loginBrowser,
      base: () => ({ ...csrf(loginPage, '/login') }),
      fields: ['code'],
    },
  ];
  const pathRoutes = [
    '/interaction/',
    '/verify-email/',
    '/recovery/password/reset/',
    '/recovery/password?uid=',
    '/account/credentials/',
    '/account/sessions/',
    '/account/factors/',
  ];

  async function send(route: Route, field: string, encoded: string): Promise<{ status: number; text: string; type: string }> {
    const browser = route.browser?.() ?? new BrowserClient();
    const payload = encodeForm(route.base(), field, encoded);
    const response =
      route.method === 'GET'
        ? await browser.request(`${route.url()}?${payload}`, { headers: route.headers })
        : await browser.request(route.url(), { body: payload, headers: route.headers });
    return { status: response.status, text: await response.text(), type: response.headers.get('content-type') ?? '' };
  }

  for (const value of HOSTILE) {
    it(`${value.label}: every route and field answers ${value.refused ? '4xx' : 'without a 5xx'}`, async () => {
      const seen: string[] = [];
      for (const route of routes) {
        for (const field of route.fields) {
          await t.idp.sql.run('delete from rate_limit');
          const { status, text, type } = await send(route, field, value.encoded);
          const ok = value.refused ? status >= 400 && status < 500 : status < 500;
          if (!ok) seen.push(`${route.name} ${field}: ${status}`);
          if (value.refused && status === 400 && type.includes('text/html')) expect(text).toContain('<h1');
        }
      }
      for (const prefix of pathRoutes) {
        const response = await new BrowserClient().request(`${t.url}${prefix}${value.encoded === 'ARRAY' ? 'a' : value.encoded}`);
        if (response.status >= 500 || (value.refused && value.encoded !== 'ARRAY' && response.status < 400)) seen.push(`GET ${prefix}: ${response.status}`);
      }
      expect(seen).toEqual([]);
    });
  }

  it("explains a refused value on a clear page, in the member's language", async () => {
    const { status, text } = await send(routes.find((r) => r.name === 'POST /interaction/:uid/login')!, 'user_id', 'a%00b');
    expect(status).toBe(400);
    expect(text).toContain('使用できない文字');
    const backEnd = await send(routes.find((r) => r.name === 'POST /token (code)')!, 'code', 'a%00b');
    expect(backEnd.status).toBe(400);
    expect(JSON.parse(backEnd.text)).toMatchObject({ error: 'invalid_request' });
  });

  it('answers a compressed or garbled request body with 415 on every form (item 9)', async () => {
    const seen: string[] = [];
    for (const route of routes.filter((r) => r.method === 'POST')) {
      for (const body of [Buffer.from('garbage that is not gzip'), gzipSync('user_id=a')]) {
        const browser = route.browser?.() ?? new BrowserClient();
        const response = await browser.request(route.url(), { body: new Uint8Array(body), headers: { ...route.headers, 'content-encoding': 'gzip' } });
        if (response.status !== 415) seen.push(`${route.name}: ${response.status}`);
      }
    }
    expect(seen).toEqual([]);
  });

  it('answers a form body over 64 KB with 413, not 500', async () => {
    const response = await loginBrowser.request(`${t.url}/interaction/${uid}/login`, { body: `user_id=${'x'.repeat(70_000)}` });
    expect(response.status).toBe(413);
  });

  it('still logs in with ordinary values after all of it', async () => {
    await t.addMember({ userId: 'calm00001' }, { password: 'Calm-pass-1', onboarded: true });
    const rp = await testRelyingParty(t.url);
    const browser = new BrowserClient();
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const after = await completeTotp(
      browser,
      await browser.submit(page, '/login', { user_id: 'calm00001', password: 'Calm-pass-1' }, { stopAt: isPortal }),
      'calm00001',
    );
    expect(isPortal(after.url)).toBe(true);
  });
});
