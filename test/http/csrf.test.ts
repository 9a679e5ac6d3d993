import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { csrfCookieName, csrfProtection } from '../../src/http/middleware/csrf.js';
import { startTestIdp, type TestIdp, loginThroughPortal, isPortal, BrowserClient } from '../support/idp.js';
import { findForm } from '../support/browser-client.js';

const OLD_KEY = Buffer.alloc(32, 1);
const NEW_KEY = Buffer.alloc(32, 2);

/** The middleware alone, behind a proxy that says https (or not): GET /form gives a token, POST /check?_csrf= checks one. */
async function csrfServer(keys: Buffer[], secure: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Koa({ proxy: true });
  app.use(csrfProtection(keys, { secure, sessionCookie: 'kosmo.session', cookie: csrfCookieName(secure) }));
  app.use((ctx) => {
    if (ctx.path === '/form') ctx.body = String(ctx.state.csrfToken);
    else ctx.body = (ctx.state.csrfValid as (s: unknown) => boolean)(ctx.query._csrf) ? 'valid' : 'refused';
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const HTTPS = { 'x-forwarded-proto': 'https' };

async function tokenFrom(url: string, cookie = ''): Promise<{ token: string; setCookie: string[]; cookie: string }> {
  const response = await fetch(`${url}/form`, { headers: { ...HTTPS, ...(cookie ? { cookie } : {}) } });
  const setCookie = response.headers.getSetCookie();
  const csrfCookie = setCookie.map((c) => c.split(';')[0]!).find((c) => c.includes('kosmo.csrf'));
  return { token: await response.text(), setCookie, cookie: [cookie, csrfCookie].filter(Boolean).join('; ') };
}

async function check(url: string, token: string, cookie: string): Promise<string> {
  return (await fetch(`${url}/check?_csrf=${encodeURIComponent(token)}`, { method: 'POST', headers: { ...HTTPS, cookie } })).text();
}

describe('CSRF tokens (the middleware)', () => {
  it('under https keeps its secret in a __Host- cookie: Secure, HttpOnly, Path=/, no Domain', async () => {
    const server = await csrfServer([NEW_KEY], true);
    try {
      const { setCookie } = await tokenFrom(server.url);
      expect(setCookie).toHaveLength(1);
      const [pair, ...attributes] = setCookie[0]!.split(';').map((a) => a.trim().toLowerCase());
      expect(pair!.startsWith('__host-kosmo.csrf=')).toBe(true);
      expect(attributes).toEqual(expect.arrayContaining(['path=/', 'secure', 'httponly', 'samesite=lax']));
      expect(attributes.some((a) => a.startsWith('domain='))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('binds a token to the browser and its session: another browser, or another session, is refused', async () => {
    const server = await csrfServer([NEW_KEY], true);
    try {
      const a = await tokenFrom(server.url, 'kosmo.session=session-of-a');
      const b = await tokenFrom(server.url, 'kosmo.session=session-of-b');
      expect(await check(server.url, a.token, a.cookie)).toBe('valid');
      expect(await check(server.url, b.token, b.cookie)).toBe('valid');
      // A's token in B, with B's own cookie.
      expect(await check(server.url, a.token, b.cookie)).toBe('refused');
      // A's cookie and token planted in B (cookie tossing): B's session does not match.
      const aCsrfCookie = a.cookie.split('; ').find((c) => c.includes('kosmo.csrf'))!;
      expect(await check(server.url, a.token, `kosmo.session=session-of-b; ${aCsrfCookie}`)).toBe('refused');
      // A new session in the same browser (a login elsewhere rotated it): the old page's token is refused.
      expect(await check(server.url, a.token, `kosmo.session=rotated; ${aCsrfCookie}`)).toBe('refused');
      // A cookie this server did not write is ignored, whatever it holds.
      const forged = aCsrfCookie.replace(/\.[^.]+$/, '.not-our-mac');
      expect(await check(server.url, a.token, `kosmo.session=session-of-a; ${forged}`)).toBe('refused');
    } finally {
      await server.close();
    }
  });

  it('keeps working across a key change: the first key makes tokens, any key verifies', async () => {
    const before = await csrfServer([OLD_KEY], true);
    const after = await csrfServer([NEW_KEY, OLD_KEY], true);
    const newOnly = await csrfServer([NEW_KEY], true);
    try {
      const old = await tokenFrom(before.url, 'kosmo.session=s');
      expect(await check(after.url, old.token, old.cookie)).toBe('valid');
      expect(await check(newOnly.url, old.token, old.cookie)).toBe('refused');
      // A page rendered after the change, in the same browser, gets a token of the new key.
      const fresh = await tokenFrom(after.url, old.cookie);
      expect(fresh.token).not.toBe(old.token);
      expect(await check(after.url, fresh.token, old.cookie)).toBe('valid');
    } finally {
      await Promise.all([before.close(), after.close(), newOnly.close()]);
    }
  });

  it('under plain http uses kosmo.csrf without Secure', async () => {
    const server = await csrfServer([NEW_KEY], false);
    try {
      const response = await fetch(`${server.url}/form`);
      const line = response.headers.getSetCookie()[0]!.toLowerCase();
      expect(line.startsWith('kosmo.csrf=')).toBe(true);
      expect(line).not.toContain('secure');
    } finally {
      await server.close();
    }
  });
});

describe('CSRF tokens on the console', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses a token taken from browser A, even with A's CSRF cookie planted, in browser B's session", async () => {
    await t.addMember({ userId: 'csrfbind1' }, { password: 'Csrf-bind-1', onboarded: true });
    const a = new BrowserClient();
    const b = new BrowserClient();
    for (const browser of [a, b]) expect(isPortal((await loginThroughPortal(t.url, browser, 'csrfbind1', 'Csrf-bind-1')).after.url)).toBe(true);
    const pageA = await a.go(`${t.url}/account`);
    const pageB = await b.go(`${t.url}/account`);
    const tokenA = findForm(pageA.html, '/account').hidden._csrf!;
    const post = (browser: BrowserClient, token: string) =>
      browser.request(`${t.url}/account`, { form: { _csrf: token, locale: 'en', user_id: 'csrfbind1', method: 'totp' } });

    expect((await post(b, tokenA)).status).toBe(400);
    // Cookie tossing: B is given A's CSRF cookie, as a sibling host or a network attacker could.
    const sessionOfB = ['kosmo.session', 'kosmo.session.sig'].map((n) => `${n}=${b.cookie(n)!.value}`).join('; ');
    const planted = await fetch(`${t.url}/account`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${sessionOfB}; kosmo.csrf=${a.cookie('kosmo.csrf')!.value}` },
      body: new URLSearchParams({ _csrf: tokenA, locale: 'en', user_id: 'csrfbind1', method: 'totp' }).toString(),
    });
    expect(planted.status).toBe(400);
    expect((await t.idp.sql.one<{ locale: string }>('select locale from member where user_id = $1', ['csrfbind1']))!.locale).toBe('ja');
    // A's own token in A works.
    expect((await post(a, tokenA)).status).toBe(303);
    expect(findForm(pageB.html, '/account').hidden._csrf).not.toBe(tokenA);
  });
});
