import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, TEST_CLIENT, type TestIdp, completeTotp, totpApp, totpFields } from '../support/idp.js';
import { createTestDatabase } from '../support/database.js';
import { findForm } from '../support/browser-client.js';

/** The same path on another instance, as a load balancer in front of both would send it. */
const on = (instance: TestIdp, url: string) => {
  const u = new URL(url);
  return `${instance.url}${u.pathname}${u.search}`;
};

describe('two processes on one database', () => {
  let a: TestIdp;
  let b: TestIdp;
  /**
   * Both processes answer for one issuer, as they would behind one load balancer: that proxy
   * forwards the issuer's host (X-Forwarded-Host, trusted with TRUST_PROXY), whichever process it
   * picks. Here the test is the load balancer.
   */
  let behindProxy: Record<string, string>;
  const browserBehindProxy = () => new BrowserClient(behindProxy);
  beforeAll(async () => {
    a = await startTestIdp({ env: { TRUST_PROXY: 'true' } });
    b = await startTestIdp({ databaseUrl: a.databaseUrl, env: { ISSUER: a.url, TRUST_PROXY: 'true' } });
    behindProxy = { 'x-forwarded-host': new URL(a.url).host };
    await a.addMember({ userId: 'twoproc01', name: '二重 花子' }, { password: 'Two-procs-1', onboarded: true });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  /** The portal's client, with the token endpoint of the given instance. */
  function portalVia(instance: TestIdp, rp: Awaited<ReturnType<typeof testRelyingParty>>): oidc.Configuration {
    const { supportsPKCE: _method, ...metadata } = rp.configuration.serverMetadata();
    const path = (endpoint: string | undefined) => on(instance, endpoint!);
    const configuration = new oidc.Configuration(
      {
        ...metadata,
        token_endpoint: path(metadata.token_endpoint),
        userinfo_endpoint: path(metadata.userinfo_endpoint),
        revocation_endpoint: path(metadata.revocation_endpoint),
      },
      TEST_CLIENT.id,
      undefined,
      oidc.ClientSecretBasic(TEST_CLIENT.secret),
    );
    oidc.allowInsecureRequests(configuration);
    configuration[oidc.customFetch] = (url, options) =>
      fetch(url, { ...(options as RequestInit), headers: { ...(options.headers as Record<string, string>), ...behindProxy } });
    return configuration;
  }

  it('publishes the same signing keys from both', async () => {
    const jwksA = await (await fetch(`${a.url}/jwks`)).json();
    const jwksB = await (await fetch(`${b.url}/jwks`, { headers: behindProxy })).json();
    expect(jwksB).toEqual(jwksA);
  });

  it('serves one login between them: authorize on A, login page and password on B, code page on A, code on B, resume on A, tokens from B and A', async () => {
    const browser = browserBehindProxy();
    const rp = await testRelyingParty(a.url);
    const request = await rp.authorizationRequest();

    const authorized = await browser.request(request.url);
    expect(authorized.status).toBe(303);
    const interactionUrl = new URL(authorized.headers.get('location')!, a.url).toString();
    const loginPage = await browser.go(on(b, interactionUrl));
    expect(loginPage.status).toBe(200);
    expect(loginPage.html).toContain('ログイン状態の保存');

    const form = findForm(loginPage.html, '/login');
    const posted = await browser.request(on(b, new URL(form.action, loginPage.url).toString()), {
      form: { ...form.hidden, user_id: 'TWOPROC01', password: 'Two-procs-1' },
    });
    expect(posted.status).toBe(303);
    // The TOTP code page on A, the code posted to B.
    const factorPage = await browser.go(on(a, new URL(posted.headers.get('location')!, a.url).toString()));
    expect(factorPage.html).toContain('ワンタイムパスワードの入力');
    const codeForm = findForm(factorPage.html, '/factor');
    const coded = await browser.request(on(b, new URL(codeForm.action, factorPage.url).toString()), {
      form: { ...codeForm.hidden, ...(await totpFields(totpApp('twoproc01')!)) },
    });
    expect(coded.status).toBe(303);
    // B, which checked the code, sends the browser on to the provider's resume; A resumes it.
    const resume = new URL(coded.headers.get('location')!, b.url).toString();
    expect(new URL(resume).pathname).toMatch(/^\/auth\//);
    const back = await browser.go(on(a, resume), { stopAt: isPortal });
    expect(isPortal(back.url)).toBe(true);

    const tokens = await oidc.authorizationCodeGrant(portalVia(b, rp), new URL(back.url), {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(a.url);
    expect(claims.preferred_username).toBe('twoproc01');
    expect(await oidc.fetchUserInfo(portalVia(a, rp), tokens.access_token, claims.sub)).toMatchObject({ sub: claims.sub, name: '二重 花子' });

    // Refresh on A, then the rotated-out token is refused on B.
    const refreshed = await oidc.refreshTokenGrant(portalVia(a, rp), tokens.refresh_token!);
    expect(refreshed.access_token).toBeDefined();
    await expect(oidc.refreshTokenGrant(portalVia(b, rp), tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // The session made through both is known to both: B lets the member straight back in.
    const silent = await browser.go(on(b, (await rp.authorizationRequest()).url), { stopAt: isPortal });
    expect(new URL(silent.url).searchParams.get('code')).toBeTruthy();
  });

  it('ends the session for both when the member logs out on one', async () => {
    const browser = browserBehindProxy();
    const rp = await testRelyingParty(a.url);
    const request = await rp.authorizationRequest();
    const page = await browser.go(request.url, { stopAt: isPortal });
    const back = await completeTotp(
      browser,
      await browser.submit(page, '/login', { user_id: 'twoproc01', password: 'Two-procs-1' }, { stopAt: isPortal }),
      'twoproc01',
    );
    const tokens = await rp.exchange(back.url, request);
    const endSession = oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: TEST_CLIENT.postLogout });
    const confirm = await browser.go(on(b, endSession.toString()), { stopAt: isPortal });
    expect(confirm.html).toContain('ログアウトしてもよろしいですか？');
    const form = findForm(confirm.html, '/session/end/confirm');
    const done = await browser.request(on(b, form.action), { form: { ...form.hidden, logout: 'yes' } });
    expect(done.headers.get('location')).toBe(TEST_CLIENT.postLogout);
    const again = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(again.html).toContain('ログイン状態の保存');
  });

  it('hands a finished login back once when both resume it at the same moment', async () => {
    await a.addMember({ userId: 'twoproc03' }, { password: 'Two-procs-3', onboarded: true, totpDevices: ['一', '二', '三'] });
    const isResume = (u: string) => new URL(u).pathname.startsWith('/auth/');
    const outcomes = [];
    for (let trial = 0; trial < 3; trial++) {
      const browser = browserBehindProxy();
      const rp = await testRelyingParty(a.url);
      const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
      const factorPage = await browser.submit(page, '/login', { user_id: 'twoproc03', password: 'Two-procs-3' }, { stopAt: isResume });
      const resume = await browser.submit(factorPage, '/factor', await totpFields(totpApp('twoproc03')!), { stopAt: isResume });
      expect(isResume(resume.url)).toBe(true);
      const answers = await Promise.all([a, b, a, b].map((instance) => browser.request(on(instance, resume.url))));
      const codes = answers.filter((r) => new URL(r.headers.get('location') ?? '/', a.url).searchParams.has('code'));
      const others = await Promise.all(
        answers.filter((r) => !codes.includes(r)).map(async (r) => r.status === 400 && (await r.text()).includes('<h1>ログインは完了しています</h1>')),
      );
      outcomes.push({ trial, codes: codes.length, others });
    }
    expect(outcomes).toEqual(outcomes.map((_, trial) => ({ trial, codes: 1, others: [true, true, true] })));
  });

  it('counts lockout failures made on either instance together', async () => {
    await a.addMember({ userId: 'twoproc02' }, { password: 'Two-procs-2', onboarded: true });
    for (const instance of [a, b, a]) {
      const browser = browserBehindProxy();
      const rp = await testRelyingParty(a.url);
      const page = await browser.go(on(instance, (await rp.authorizationRequest()).url), { stopAt: isPortal });
      expect(page.url.startsWith(instance.url)).toBe(true);
      await browser.submit(page, '/login', { user_id: 'twoproc02', password: 'wrong' });
    }
    const row = await a.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', ['twoproc02']);
    expect(row!.failed_logins).toBe(3);
  });
});

describe('two processes starting at once on a new database', () => {
  it('agree on one set of signing keys', async () => {
    const db = await createTestDatabase();
    try {
      const [a, b] = await Promise.all([startTestIdp({ databaseUrl: db.url }), startTestIdp({ databaseUrl: db.url })]);
      try {
        const kids = async (t: TestIdp) => ((await (await fetch(`${t.url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
        expect(await kids(b)).toEqual(await kids(a));
        const stored = await a.idp.sql.one<{ n: string }>('select count(*) as n from signing_key');
        expect(Number(stored!.n)).toBe(2);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    } finally {
      await db.drop();
    }
  });
});
