import { registerClient } from '../../src/config/clients.js';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Config } from '../../src/config/index.js';
import { startMailedTestIdp, type MailedTestIdp, BrowserClient, type Page } from '../support/idp.js';
import { decodeEntities, findForm, pageErrors } from '../support/browser-client.js';
import { SoftwarePasskey } from '../support/software-passkey.js';
import { mailedCode } from '../support/factors.js';

/**
 * Two societies in one process: kosmo (issuer at the host's root, as every other test uses it) and
 * sakura (its issuer under /sakura: the path form), each with a portal registered as `test-portal`
 * (a client_id is unique within its society only), and the same user ID in both as two members.
 * Nothing of one — password, session cookie, token, client secret — is worth anything at the other.
 */
const SAKURA_PORTAL = { id: 'test-portal', secret: 'sakura-portal-secret-0123456789', redirect: 'http://localhost:3998/callback' };
const KOSMO_PORTAL = { id: 'test-portal', secret: 'test-portal-secret-0123456789', redirect: 'http://localhost:3999/callback' };
/** Registers the test portal with sakura (kosmo's is TEST_CLIENT, under the same client_id). */
function withSakuraPortal(config: Config): void {
  config.societies
    .find((s) => s.id === 'sakura')!
    .clients.push(
      registerClient({
        client_id: SAKURA_PORTAL.id,
        client_secret: SAKURA_PORTAL.secret,
        client_name: 'Sakura test portal',
        redirect_uris: [SAKURA_PORTAL.redirect],
        post_logout_redirect_uris: ['http://localhost:3998/'],
        scope: 'openid offline_access profile email',
      }),
    );
}
const isPortal = (u: string) => u.startsWith('http://localhost:3998/') || u.startsWith('http://localhost:3999/');

async function relyingParty(issuer: string, portal: typeof SAKURA_PORTAL) {
  const configuration = await oidc.discovery(new URL(issuer), portal.id, undefined, oidc.ClientSecretBasic(portal.secret), {
    execute: [oidc.allowInsecureRequests],
  });
  return {
    configuration,
    async start() {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(configuration, {
        redirect_uri: portal.redirect,
        scope: 'openid profile email offline_access',
        state,
        prompt: 'consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      return { url: url.toString(), verifier, state };
    },
    exchange(callback: string, request: { verifier: string; state: string }) {
      return oidc.authorizationCodeGrant(configuration, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state });
    },
  };
}

describe('many societies in one deployment', () => {
  let t: MailedTestIdp;
  let sakuraIssuer: string;
  beforeAll(async () => {
    t = await startMailedTestIdp({
      configure: withSakuraPortal,
    });
    sakuraIssuer = `${t.url}/sakura`;
    await t.addMember(
      { userId: 'twin0001', email: 'twin@kosmo.example.jp', name: 'コスモ 花子' },
      { password: 'Kosmo-twin-2026', onboarded: true, factor: 'email' },
    );
    await t.addMember(
      { userId: 'twin0001', email: 'twin@sakura.example.jp', name: 'さくら 花子' },
      { password: 'Sakura-twin-2026', onboarded: true, factor: 'email', society: 'sakura' },
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The portal's login through the password and the mailed code; the page the login ends on. */
  async function logIn(browser: BrowserClient, url: string, password: string, address: string): Promise<Page> {
    const loginPage = await browser.go(url, { stopAt: isPortal });
    const codePage = await browser.submit(loginPage, '/login', { user_id: 'twin0001', password }, { stopAt: isPortal });
    const mail = await t.smtp.waitFor((m) => m.to.includes(address));
    t.smtp.clear();
    return browser.submit(codePage, '/factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
  }

  it('each has its own issuer, discovery document and signing keys', async () => {
    const kosmo = (await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    const sakura = (await (await fetch(`${sakuraIssuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(kosmo.issuer).toBe(t.url);
    expect(sakura.issuer).toBe(sakuraIssuer);
    expect(sakura.authorization_endpoint!.startsWith(`${sakuraIssuer}/`)).toBe(true);
    const kids = async (jwksUri: string) => ((await (await fetch(jwksUri)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const kosmoKids = await kids(kosmo.jwks_uri!);
    const sakuraKids = await kids(sakura.jwks_uri!);
    expect(sakuraKids.length).toBeGreaterThan(0);
    expect(sakuraKids.filter((k) => kosmoKids.includes(k))).toEqual([]);
  });

  it("logs the same user ID in at each society as two members, in that society's name, and nothing of one works at the other", async () => {
    const sakuraRp = await relyingParty(sakuraIssuer, SAKURA_PORTAL);
    const kosmoRp = await relyingParty(t.url, KOSMO_PORTAL);

    // sakura: its login page is its own, under its path, and its mail comes from it.
    const browser = new BrowserClient();
    const request = await sakuraRp.start();
    const loginPage = await browser.go(request.url, { stopAt: isPortal });
    expect(new URL(loginPage.url).pathname.startsWith('/sakura/interaction/')).toBe(true);
    expect(loginPage.html).toContain('さくら健康保険組合');
    expect(loginPage.html).not.toContain('コスモ健康保険組合');
    expect(findForm(loginPage.html, '/login').action.startsWith('/sakura/interaction/')).toBe(true);
    // kosmo's password is not sakura's member's.
    const wrong = await browser.submit(loginPage, '/login', { user_id: 'twin0001', password: 'Kosmo-twin-2026' }, { stopAt: isPortal });
    expect(pageErrors(wrong.html).length).toBe(1);
    const codePage = await browser.submit(wrong, '/login', { user_id: 'twin0001', password: 'Sakura-twin-2026' }, { stopAt: isPortal });
    const mail = await t.smtp.waitFor((m) => m.to.includes('twin@sakura.example.jp'));
    expect(mail.sender).toContain('さくら健康保険組合');
    expect(t.smtp.messages.some((m) => m.to.includes('twin@kosmo.example.jp'))).toBe(false);
    t.smtp.clear();
    const back = await browser.submit(codePage, '/factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
    expect(back.url.startsWith(SAKURA_PORTAL.redirect)).toBe(true);
    const sakuraTokens = await sakuraRp.exchange(back.url, request);
    const sakuraClaims = sakuraTokens.claims()!;
    expect(sakuraClaims.iss).toBe(sakuraIssuer);

    // The browser signed in at sakura is not signed in at kosmo: kosmo asks for its own login.
    const kosmoRequest = await kosmoRp.start();
    const kosmoLogin = await browser.go(kosmoRequest.url, { stopAt: isPortal });
    expect(isPortal(kosmoLogin.url)).toBe(false);
    expect(kosmoLogin.html).toContain('コスモ健康保険組合');
    expect(findForm(kosmoLogin.html, '/login').action.startsWith('/interaction/')).toBe(true);

    // kosmo's own member, in another browser: another subject, kosmo's issuer.
    const kosmoBrowser = new BrowserClient();
    const kosmoBack = await logIn(
      kosmoBrowser,
      kosmoRequest.url.replace(/state=[^&]+/, `state=${kosmoRequest.state}`),
      'Kosmo-twin-2026',
      'twin@kosmo.example.jp',
    );
    const kosmoTokens = await kosmoRp.exchange(kosmoBack.url, kosmoRequest);
    expect(kosmoTokens.claims()!.iss).toBe(t.url);
    expect(kosmoTokens.claims()!.sub).not.toBe(sakuraClaims.sub);

    // sakura's access token means nothing to kosmo's userinfo, its refresh token nothing to kosmo's token endpoint.
    const me = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${sakuraTokens.access_token}` } });
    expect(me.status).toBe(401);
    await expect(oidc.refreshTokenGrant(kosmoRp.configuration, sakuraTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // …while at sakura they work.
    const sakuraMe = await fetch(`${sakuraIssuer}/me`, { headers: { authorization: `Bearer ${sakuraTokens.access_token}` } });
    expect(sakuraMe.status).toBe(200);
    // The same client_id with kosmo's secret is not sakura's portal.
    const impostor = await fetch(`${sakuraIssuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${KOSMO_PORTAL.id}:${KOSMO_PORTAL.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: sakuraTokens.refresh_token! }).toString(),
    });
    expect(impostor.status).toBe(401);
    expect(((await impostor.json()) as { error: string }).error).toBe('invalid_client');
  });

  it("logs two societies' members in at the same time, through one process and through two on one database", async () => {
    await t.addMember({ userId: 'both0001', email: 'both@kosmo.example.jp' }, { password: 'Kosmo-both-2026', onboarded: true, factor: 'email' });
    await t.addMember(
      { userId: 'both0001', email: 'both@sakura.example.jp' },
      { password: 'Sakura-both-2026', onboarded: true, factor: 'email', society: 'sakura' },
    );
    // A second process on the same database, behind a load balancer that forwards the issuers' host.
    const b = await startMailedTestIdp({
      databaseUrl: t.databaseUrl,
      env: { ISSUER: t.url, TRUST_PROXY: 'true' },
      configure: withSakuraPortal,
    });
    try {
      const viaB = { 'x-forwarded-host': new URL(t.url).host };
      const onB = (url: string) => url.replace(t.url, b.url);
      const login = async (
        issuer: string,
        portal: typeof SAKURA_PORTAL,
        password: string,
        address: string,
        process: { smtp: MailedTestIdp['smtp']; rewrite: (u: string) => string; headers: Record<string, string> },
      ) => {
        const rp = await relyingParty(issuer, portal);
        const request = await rp.start();
        const browser = new BrowserClient(process.headers);
        const loginPage = await browser.go(process.rewrite(request.url), { stopAt: isPortal });
        const codePage = await browser.submit(loginPage, '/login', { user_id: 'both0001', password }, { stopAt: isPortal });
        const mail = await process.smtp.waitFor((m) => m.to.includes(address));
        const back = await browser.submit(codePage, '/factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
        return (await rp.exchange(back.url, request)).claims()!;
      };
      const onA = { smtp: t.smtp, rewrite: (u: string) => u, headers: {} };
      const onProcessB = { smtp: b.smtp, rewrite: onB, headers: viaB };
      // One process, two societies at once.
      const [kosmo1, sakura1] = await Promise.all([
        login(t.url, KOSMO_PORTAL, 'Kosmo-both-2026', 'both@kosmo.example.jp', onA),
        login(sakuraIssuer, SAKURA_PORTAL, 'Sakura-both-2026', 'both@sakura.example.jp', onA),
      ]);
      expect([kosmo1.iss, sakura1.iss]).toEqual([t.url, sakuraIssuer]);
      expect(kosmo1.sub).not.toBe(sakura1.sub);
      t.smtp.clear();
      // Two processes: kosmo's member on this one, sakura's on the other, at once.
      const [kosmo2, sakura2] = await Promise.all([
        login(t.url, KOSMO_PORTAL, 'Kosmo-both-2026', 'both@kosmo.example.jp', onA),
        login(sakuraIssuer, SAKURA_PORTAL, 'Sakura-both-2026', 'both@sakura.example.jp', onProcessB),
      ]);
      expect([kosmo2.sub, sakura2.sub]).toEqual([kosmo1.sub, sakura1.sub]);
      expect(sakura2.iss).toBe(sakuraIssuer);
    } finally {
      await b.close();
    }
  });

  it("gives sakura's member its own account console and password reset, under its path", async () => {
    await t.addMember(
      { userId: 'cons0001', email: 'cons@sakura.example.jp', name: 'さくら 次郎' },
      { password: 'Sakura-cons-2026', onboarded: true, factor: 'email', society: 'sakura' },
    );
    // パスワードを忘れた方はこちら: the link is sakura's, and works there.
    const browser = new BrowserClient();
    const form = await browser.go(`${sakuraIssuer}/recovery/password`);
    expect(findForm(form.html, '/recovery/password').action).toBe('/sakura/recovery/password');
    await browser.submit(form, '/recovery/password', { user_id: 'cons0001' });
    const mail = await t.smtp.waitFor((m) => m.to.includes('cons@sakura.example.jp'));
    const link = mail.links.find((l) => l.includes('/recovery/password/reset/'))!;
    expect(link.startsWith(`${sakuraIssuer}/recovery/password/reset/`)).toBe(true);
    // The same token at kosmo's address is nothing.
    expect((await new BrowserClient().go(link.replace(sakuraIssuer, t.url))).status).toBe(410);
    t.smtp.clear();
    const reset = await browser.go(link);
    const done = await browser.submit(reset, '/recovery/password/reset/', { password: 'Sakura-cons-2027', password_confirmation: 'Sakura-cons-2027' });
    expect(done.html).toContain('パスワードを更新しました');

    // The console: its login is sakura's, and it shows sakura's member.
    const consoleLogin = await browser.go(`${sakuraIssuer}/account`);
    expect(new URL(consoleLogin.url).pathname.startsWith('/sakura/interaction/')).toBe(true);
    const codePage = await browser.submit(consoleLogin, '/login', { user_id: 'cons0001', password: 'Sakura-cons-2027' });
    const code = await t.smtp.waitFor((m) => m.to.includes('cons@sakura.example.jp'));
    const profile = await browser.submit(codePage, '/factor', { code: mailedCode(code.text) });
    expect(profile.url).toBe(`${sakuraIssuer}/account`);
    expect(profile.html).toContain('さくら 次郎');
    expect(profile.html).toContain('cons0001');
  });

  it('keeps lockouts, mailed codes and addresses per society: a lock at one leaves the twin at the other free', async () => {
    // The same address in both societies: unique within a society only.
    await t.addMember({ userId: 'lock0001', email: 'same@example.jp' }, { password: 'Kosmo-lock-2026', onboarded: true, factor: 'email' });
    await t.addMember({ userId: 'lock0001', email: 'same@example.jp' }, { password: 'Sakura-lock-2026', onboarded: true, factor: 'email', society: 'sakura' });
    const kosmoLogin = async (password: string) => {
      const browser = new BrowserClient();
      const page = await browser.go((await (await relyingParty(t.url, KOSMO_PORTAL)).start()).url, { stopAt: isPortal });
      return browser.submit(page, '/login', { user_id: 'lock0001', password }, { stopAt: isPortal });
    };
    for (let i = 0; i < t.config.union.lockout.maxFailures; i++) await kosmoLogin('Wrong-pass-0000');
    expect(pageErrors((await kosmoLogin('Kosmo-lock-2026')).html).join()).toMatch(/ロック/);

    // sakura's lock0001, with the same address, is not locked: its code comes in sakura's name and finishes its login.
    const browser = new BrowserClient();
    const sakuraPage = await browser.go((await (await relyingParty(sakuraIssuer, SAKURA_PORTAL)).start()).url, { stopAt: isPortal });
    t.smtp.clear();
    const codePage = await browser.submit(sakuraPage, '/login', { user_id: 'lock0001', password: 'Sakura-lock-2026' }, { stopAt: isPortal });
    expect(new URL(codePage.url).pathname).toMatch(/^\/sakura\/interaction\/[^/]+\/factor/);
    const mail = await t.smtp.waitFor((m) => m.to.includes('same@example.jp'));
    expect(mail.sender).toContain('さくら健康保険組合');
    const done = await browser.submit(codePage, '/factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
    expect(done.url.startsWith(SAKURA_PORTAL.redirect)).toBe(true);
  });

  it("a passkey of kosmo's member is worth nothing at sakura, where a member has the same user ID", async () => {
    await t.addMember({ userId: 'key00001', email: 'key@kosmo.example.jp' }, { password: 'Kosmo-key-2026', onboarded: true, factor: 'passkey' });
    await t.addMember(
      { userId: 'key00001', email: 'key@sakura.example.jp' },
      { password: 'Sakura-key-2026', onboarded: true, factor: 'email', society: 'sakura' },
    );
    const memberId = (await t.idp.sql.one<{ id: string }>("select id from member where user_id = 'key00001'"))!.id;
    const passkey = SoftwarePasskey.forIdp(t.idp);
    await passkey.enrol(t.idp, memberId);
    const passkeyLogin = async (issuer: string, portal: typeof SAKURA_PORTAL) => {
      const browser = new BrowserClient();
      const page = await browser.go((await (await relyingParty(issuer, portal)).start()).url, { stopAt: isPortal });
      const options = JSON.parse(decodeEntities(/data-passkey-login data-options="([^"]*)"/.exec(page.html)![1]!));
      const form = findForm(page.html, '/passkey');
      return browser.go(new URL(decodeEntities(form.action), page.url).toString(), {
        form: { ...form.hidden, response: JSON.stringify(passkey.assert(options, memberId)) },
        stopAt: isPortal,
      });
    };
    // At sakura the same device signs a valid assertion for sakura's page: no credential of sakura's.
    const atSakura = await passkeyLogin(sakuraIssuer, SAKURA_PORTAL);
    expect(isPortal(atSakura.url)).toBe(false);
    expect(pageErrors(atSakura.html)).toHaveLength(1);
    // At kosmo it is the member's passkey.
    const atKosmo = await passkeyLogin(t.url, KOSMO_PORTAL);
    expect(atKosmo.url.startsWith(KOSMO_PORTAL.redirect)).toBe(true);
  });

  it('answers hostile hosts and paths with a 4xx, never another society or a 5xx', async () => {
    const { request } = await import('node:http');
    const port = Number(new URL(t.url).port);
    const raw = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const host = new URL(t.url).host;
    for (const [path, hostHeader] of [
      ['/sakura/../.well-known/openid-configuration', host],
      ['/sakura/%2e%2e/account', host],
      ['/sakura//sakura/account', host],
      ['/.well-known/openid-configuration', 'x'.repeat(2000)],
      ['/.well-known/openid-configuration', `${host}@evil.example`],
      ['/.well-known/openid-configuration', ''],
    ] as const) {
      const answer = await raw(path, hostHeader);
      expect([path, answer.status >= 400 && answer.status < 500]).toEqual([path, true]);
      expect(answer.body).not.toContain(`"issuer":"${t.url}"`);
    }
  });

  it('answers an address no society is at with a plain 404 that names none, and counts forwarded hosts only behind a trusted proxy', async () => {
    const other = t.url.replace('localhost', '127.0.0.1');
    for (const url of [`${other}/`, `${other}/sakura/.well-known/openid-configuration`, `${other}/interaction/abc`]) {
      const response = await fetch(url);
      expect(response.status).toBe(404);
      const html = await response.text();
      for (const name of ['コスモ', 'さくら', 'kosmo', 'sakura', 'KOSMO']) expect(html).not.toContain(name);
      expect(html).toContain('<h1>ページが見つかりません / Page not found</h1>');
    }
    // TRUST_PROXY is off here: a forwarded host does not pick a society.
    const forwarded = await fetch(`${other}/.well-known/openid-configuration`, { headers: { 'x-forwarded-host': new URL(t.url).host } });
    expect(forwarded.status).toBe(404);
    // The health checks answer whatever host a load balancer names.
    expect((await fetch(`${other}/healthz`)).status).toBe(200);
  });
});

describe('a society at a host of its own (the host form), behind a trusted proxy', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp({
      env: { TRUST_PROXY: 'true' },
      configure: (config) => {
        config.societies.find((s) => s.id === 'sakura')!.issuer = 'http://sakura.id.example.jp';
        withSakuraPortal(config);
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('routes by the forwarded host, and serves that issuer', async () => {
    const local = t.url.replace('localhost', '127.0.0.1');
    const discovery = await fetch(`${local}/.well-known/openid-configuration`, { headers: { 'x-forwarded-host': 'sakura.id.example.jp' } });
    expect(discovery.status).toBe(200);
    const document = (await discovery.json()) as Record<string, string>;
    expect(document.issuer).toBe('http://sakura.id.example.jp');
    expect(document.token_endpoint).toBe('http://sakura.id.example.jp/token');
    // Its login page (a portal's request) is its own.
    const auth = await fetch(
      `${local}/auth?client_id=${SAKURA_PORTAL.id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(SAKURA_PORTAL.redirect)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
      {
        headers: { 'x-forwarded-host': 'sakura.id.example.jp' },
        redirect: 'manual',
      },
    );
    expect(auth.status).toBe(303);
    expect(auth.headers.get('location')).toMatch(/^\/interaction\//);
    // Another host is no society.
    expect((await fetch(`${local}/.well-known/openid-configuration`, { headers: { 'x-forwarded-host': 'ume.id.example.jp' } })).status).toBe(404);
    // kosmo stays where its issuer is.
    expect(((await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as { issuer: string }).issuer).toBe(t.url);
  });
});

describe("a society's look", () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows its name, its logo and its accent colour on its pages, and only on its own', async () => {
    const sakura = await new BrowserClient().go(`${t.url}/sakura/recovery/password`);
    expect(sakura.html).toContain('<span class="wordmark__union">さくら健康保険組合</span>');
    expect(sakura.html).toContain('<img class="wordmark__logo" src="/sakura/society-logo"');
    expect(sakura.html).toContain('<link rel="stylesheet" href="/sakura/society.css">');
    const css = await fetch(`${t.url}/sakura/society.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('--teal: #c2185b');
    const logo = await fetch(`${t.url}/sakura/society-logo`);
    expect(logo.headers.get('content-type')).toBe('image/svg+xml');
    expect(logo.headers.get('content-security-policy')).toContain("default-src 'none'");
    const english = await new BrowserClient().go(`${t.url}/sakura/recovery/password?lang=en`);
    expect(english.html).toContain('<span class="wordmark__union">Sakura Health Insurance Society</span>');

    // kosmo has neither a logo nor a colour of its own.
    const kosmo = await new BrowserClient().go(`${t.url}/recovery/password`);
    expect(kosmo.html).toContain('<span class="wordmark__union">コスモ健康保険組合</span>');
    expect(kosmo.html).not.toContain('society-logo');
    expect(kosmo.html).not.toContain('society.css');
    expect((await fetch(`${t.url}/society.css`)).status).toBe(404);
  });
});
