import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';

describe('secure defaults on every page', () => {
  let t: TestIdp;
  beforeAll(async () => { t = await startTestIdp(); });
  afterAll(async () => { await t.close(); });

  async function loginPage() {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    let response = await browser.request(request.url);
    const cookies = [...response.headers.getSetCookie()];
    while (response.status >= 300 && response.status < 400) {
      response = await browser.request(new URL(response.headers.get('location')!, t.url).toString());
      cookies.push(...response.headers.getSetCookie());
    }
    return { response, cookies, html: await response.text() };
  }

  it('sends a strict Content-Security-Policy and framing, sniffing and referrer protection', async () => {
    const { response, html } = await loginPage();
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toMatch(/form-action 'self' .*http:\/\/localhost:3999/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(html).not.toMatch(/<script(?![^>]*src=)/);
    expect(html).not.toMatch(/style="/);
  });

  it('sets only HttpOnly, SameSite=Lax cookies', async () => {
    const { cookies } = await loginPage();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie.toLowerCase()).toContain('httponly');
      expect(cookie.toLowerCase()).toContain('samesite=lax');
    }
  });

  it('answers an unknown path with our 404 page', async () => {
    const response = await fetch(`${t.url}/no/such/page`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('ページが見つかりません');
  });

  it('answers an oversized form with a calm 413 page, not a 500', async () => {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const response = await browser.request(`${page.url}/login`, { form: { user_id: 'x', password: 'y'.repeat(100_000) } });
    expect(response.status).toBe(413);
    expect(await response.text()).toContain('送信された内容が大きすぎます');
  });

  it('reports liveness and readiness', async () => {
    const live = await fetch(`${t.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('serves the stylesheet itself, with no third-party origin anywhere in the page', async () => {
    const css = await fetch(`${t.url}/static/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    const { html } = await loginPage();
    expect(html).not.toMatch(/https?:\/\/(?!localhost)/);
  });
});
