import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient, TEST_CLIENT, type TestIdp, completeTotp } from '../support/idp.js';
import { findForm, pageErrors } from '../support/browser-client.js';

interface SeenPage {
  name: string;
  status: number;
  headers: Headers;
  html: string;
}

function expectStrictHeaders(page: SeenPage) {
  const csp = page.headers.get('content-security-policy');
  expect({ page: page.name, csp: Boolean(csp) }).toEqual({ page: page.name, csp: true });
  const directives = Object.fromEntries(
    csp!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  expect({ page: page.name, scripts: directives['script-src'] }).toEqual({
    page: page.name,
    scripts: ["'self'", expect.stringMatching(/^'nonce-[A-Za-z0-9+/=]+'$/)],
  });
  expect({ page: page.name, frames: directives['frame-ancestors'] }).toEqual({ page: page.name, frames: ["'none'"] });
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('content-type')).toContain('text/html');
  // Nothing inline that the policy would have to allow: scripts only from files, no style attributes.
  expect({ page: page.name, inlineScript: /<script(?![^>]*\bsrc=)/.test(page.html) }).toEqual({ page: page.name, inlineScript: false });
  expect({ page: page.name, inlineStyle: /\sstyle="/.test(page.html) || /<style/.test(page.html) }).toEqual({ page: page.name, inlineStyle: false });
}

describe('secure defaults on every page', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'secure001' }, { password: 'Secure-pass-1', onboarded: true });
    await t.addMember({ userId: 'secure002', symbol: '55', number: '1234567', birthdate: '1970-01-31' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function openLogin(browser = new BrowserClient()) {
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const page = await browser.go(request.url, { stopAt: isPortal });
    return { browser, rp, request, page };
  }
  const seen = (name: string, p: { status: number; headers: Headers; html: string }): SeenPage => ({ name, ...p });
  async function seenResponse(name: string, response: Response): Promise<SeenPage> {
    return { name, status: response.status, headers: response.headers, html: await response.text() };
  }

  it("sends a Content-Security-Policy without unsafe-inline and with frame-ancestors 'none' on every HTML page", async () => {
    const pages: SeenPage[] = [];
    const { browser, page } = await openLogin();
    pages.push(seen('login', page));
    pages.push(seen('login, wrong password', await browser.submit(page, '/login', { user_id: 'secure001', password: 'wrong' })));
    pages.push(seen('login, bad CSRF', await browser.submit(page, '/login', { user_id: 'secure001', password: 'wrong', _csrf: 'forged' })));
    pages.push(seen('login in English', await browser.go(`${page.url}?lang=en`)));
    pages.push(seen('forgot password', await browser.go(`${page.url}/forgot-password`)));
    pages.push(seen('forgot user ID', await browser.go(`${page.url}/forgot-user-id`)));
    pages.push(await seenResponse('login, too large', await browser.request(`${page.url}/login`, { form: { user_id: 'x', password: 'y'.repeat(100_000) } })));

    const first = await openLogin();
    pages.push(
      seen('first-login step', await first.browser.submit(first.page, '/login', { user_id: 'secure002', password: '55123456719700131' }, { stopAt: isPortal })),
    );

    const gone = await openLogin();
    await t.idp.sql.run(`delete from oidc_payload where model = 'Interaction' and id = $1`, [new URL(gone.page.url).pathname.split('/')[2]]);
    pages.push(seen('login expired', await gone.browser.go(gone.page.url)));

    pages.push(
      seen(
        'protocol error',
        await new BrowserClient().go(`${t.url}/auth?client_id=no-such-portal&response_type=code&scope=openid&redirect_uri=http://localhost:3999/callback`),
      ),
    );
    pages.push(seen('not found', await new BrowserClient().go(`${t.url}/no/such/page`)));

    const member = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, member, 'secure001', 'Secure-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const confirm = await member.go(oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token! }).toString(), { stopAt: isPortal });
    pages.push(seen('logout confirmation', confirm));
    const form = findForm(confirm.html, '/session/end/confirm');
    pages.push(
      await seenResponse(
        'logout, too large',
        await member.request(new URL(form.action, confirm.url).toString(), { form: { ...form.hidden, logout: 'yes', pad: 'z'.repeat(100_000) } }),
      ),
    );
    pages.push(seen('logged out', await member.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal })));

    expect(pages.map((p) => [p.name, p.status])).toEqual([
      ['login', 200],
      ['login, wrong password', 401],
      ['login, bad CSRF', 400],
      ['login in English', 200],
      ['forgot password', 200],
      ['forgot user ID', 200],
      ['login, too large', 413],
      ['first-login step', 200],
      ['login expired', 400],
      ['protocol error', 400],
      ['not found', 404],
      ['logout confirmation', 200],
      ['logout, too large', 413],
      ['logged out', 200],
    ]);
    for (const p of pages) expectStrictHeaders(p);
  });

  it('lets forms post back only to itself and the portals', async () => {
    const { page } = await openLogin();
    const csp = page.headers.get('content-security-policy')!;
    const formAction = csp
      .split(';')
      .map((d) => d.trim())
      .find((d) => d.startsWith('form-action '))!;
    expect(formAction.split(/\s+/).slice(1)).toEqual(expect.arrayContaining(["'self'", 'http://localhost:3999']));
    expect(csp).toContain("base-uri 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('sets only HttpOnly, SameSite=Lax cookies through a whole login, language switch and logout', async () => {
    const browser = new BrowserClient();
    const { rp, page } = await openLogin(browser);
    await browser.go(`${page.url}?lang=en`);
    const form = findForm(page.html, '/login');
    const back = await completeTotp(
      browser,
      await browser.go(new URL(form.action, page.url).toString(), {
        form: { ...form.hidden, user_id: 'secure001', password: 'Secure-pass-1', remember: 'on' },
        stopAt: isPortal,
      }),
      'secure001',
    );
    expect(isPortal(back.url)).toBe(true);
    const request = await rp.authorizationRequest();
    const silent = await browser.go(request.url, { stopAt: isPortal });
    const tokens = await rp.exchange(silent.url, request);
    const confirm = await browser.go(
      oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: TEST_CLIENT.postLogout }).toString(),
      { stopAt: isPortal },
    );
    await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });

    const names = new Set(browser.setCookieHeaders.map((c) => c.slice(0, c.indexOf('='))));
    for (const name of ['kosmo.interaction', 'kosmo.resume', 'kosmo.session', 'kosmo.csrf', 'kosmo.client', 'kosmo.lang']) expect(names).toContain(name);
    for (const cookie of browser.setCookieHeaders) {
      const attributes = cookie
        .split(';')
        .slice(1)
        .map((a) => a.trim().toLowerCase());
      expect({ cookie, httponly: attributes.includes('httponly'), samesite: attributes.find((a) => a.startsWith('samesite=')) }).toEqual({
        cookie,
        httponly: true,
        samesite: 'samesite=lax',
      });
    }
  });

  it('escapes what the member typed when it is shown again', async () => {
    const { browser, page } = await openLogin();
    const answer = await browser.submit(page, '/login', { user_id: '"><script>alert(1)</script>', password: 'x' });
    expect(pageErrors(answer.html)).toEqual(['無効なユーザIDまたはパスワードです。']);
    expect(answer.html).not.toContain('<script>alert(1)</script>');
    expect(answer.html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('answers an unknown path with our 404 page', async () => {
    for (const method of ['GET', 'POST']) {
      const response = await fetch(`${t.url}/no/such/page`, { method, headers: { accept: 'text/html' } });
      expect(response.status).toBe(404);
      const html = await response.text();
      expect(html).toContain('<h1>ページが見つかりません</h1>');
      expect(html).toContain('お探しのページは見つかりませんでした。URLをご確認ください。');
    }
  });

  it('answers an oversized form with a calm 413 page, not a 500, however large', async () => {
    const { browser, page } = await openLogin();
    for (const size of [100_000, 5_000_000]) {
      const response = await browser.request(`${page.url}/login`, { form: { user_id: 'x', password: 'y'.repeat(size) } });
      expect(response.status).toBe(413);
      const html = await response.text();
      expect(html).toContain('<h1>エラーが発生しました</h1>');
      expect(html).toContain('送信された内容が大きすぎます。');
    }
    const recovery = await browser.request(`${page.url}/forgot-password`, { form: { email: 'y'.repeat(100_000) } });
    expect(recovery.status).toBe(413);
    // The login itself still works afterwards.
    const fresh = await openLogin();
    const ok = await completeTotp(
      fresh.browser,
      await fresh.browser.submit(fresh.page, '/login', { user_id: 'secure001', password: 'Secure-pass-1' }, { stopAt: isPortal }),
      'secure001',
    );
    expect(isPortal(ok.url)).toBe(true);
  });

  it('serves the stylesheet itself, with no third-party origin anywhere in the page', async () => {
    const css = await fetch(`${t.url}/static/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    const { page } = await openLogin();
    expect(page.html).not.toMatch(/https?:\/\/(?!localhost)/);
  });
});

describe('cookies behind an https issuer', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({ env: { ISSUER: 'https://idp.example.jp', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('marks every cookie Secure and sends HSTS when the proxy says https', async () => {
    const browser = new BrowserClient({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'idp.example.jp' });
    const params = new URLSearchParams({
      client_id: TEST_CLIENT.id,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: TEST_CLIENT.redirect,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'secure-state',
    });
    const page = await browser.go(`${t.url}/auth?${params}`, { stopAt: (u) => !u.startsWith(t.url) && !u.startsWith('https://idp.example.jp') });
    expect(page.status).toBe(200);
    expect(page.html).toContain('ログイン状態の保存');
    expect(page.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(browser.setCookieHeaders.length).toBeGreaterThan(0);
    for (const cookie of browser.setCookieHeaders) expect(cookie.toLowerCase()).toMatch(/;\s*secure(;|$)/);
  });
});
