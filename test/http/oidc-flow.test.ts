import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';

describe('OpenID Connect with a real client (openid-client)', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.clients.push({ client_id: 'public-spa', public: true, redirect_uris: ['http://localhost:3999/spa'], post_logout_redirect_uris: [], scope: 'openid offline_access profile email' });
      },
    });
    await t.addMember({ userId: 'flow00001', name: '流れ 一郎', email: 'flow@example.jp', birthdate: '1979-08-22' }, { password: 'Flow-pass-1', onboarded: true });
  });
  afterAll(async () => { await t.close(); });

  it('publishes discovery and a JWKS without private parts', async () => {
    const discovery = await (await fetch(`${t.url}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(discovery.issuer).toBe(t.url);
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
    expect(discovery.end_session_endpoint).toBeDefined();
    expect(discovery.revocation_endpoint).toBeDefined();
    const jwks = await (await fetch(String(discovery.jwks_uri))).json() as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
  });

  it('runs the code flow with PKCE, without a consent screen, and gives the claims by scope', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'flow00001', 'Flow-pass-1');
    expect(isPortal(after.url)).toBe(true);
    const tokens = await rp.exchange(after.url, request);
    const claims = tokens.claims()!;
    expect(claims.sub).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims).toMatchObject({ preferred_username: 'flow00001', name: '流れ 一郎', email: 'flow@example.jp', email_verified: true, birthdate: '1979-08-22' });
    const userinfo = await oidc.fetchUserInfo(rp.configuration, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({ sub: claims.sub, preferred_username: 'flow00001', email: 'flow@example.jp' });
  });

  it('gives only the sub for the openid scope alone', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'flow00001', 'Flow-pass-1', { scope: 'openid' });
    const tokens = await rp.exchange(after.url, request);
    const userinfo = await oidc.fetchUserInfo(rp.configuration, tokens.access_token, tokens.claims()!.sub);
    expect(Object.keys(userinfo).sort()).toEqual(['sub']);
  });

  it('keeps the same sub after the user ID changes', async () => {
    await t.addMember({ userId: 'rename001' }, { password: 'Rename-pass-1', onboarded: true });
    const first = await loginThroughPortal(t.url, new BrowserClient(), 'rename001', 'Rename-pass-1');
    const before = (await first.rp.exchange(first.after.url, first.request)).claims()!;
    await t.idp.sql.run(`update member set user_id = 'renamed01' where user_id = 'rename001'`);
    const second = await loginThroughPortal(t.url, new BrowserClient(), 'renamed01', 'Rename-pass-1');
    const after = (await second.rp.exchange(second.after.url, second.request)).claims()!;
    expect(after.sub).toBe(before.sub);
    expect(after.preferred_username).toBe('renamed01');
  });

  it('rotates refresh tokens: the old one is refused after use', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'flow00001', 'Flow-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const first = tokens.refresh_token!;
    const refreshed = await oidc.refreshTokenGrant(rp.configuration, first);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(first);
    await expect(oidc.refreshTokenGrant(rp.configuration, first)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('treats a reused refresh token as theft: the whole grant is revoked, the newer token too', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'flow00001', 'Flow-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const newer = (await oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).refresh_token!;
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(rp.configuration, newer)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes a refresh token', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'flow00001', 'Flow-pass-1');
    const tokens = await rp.exchange(after.url, request);
    await oidc.tokenRevocation(rp.configuration, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('requires PKCE from a public client and accepts S256', async () => {
    const configuration = await oidc.discovery(new URL(t.url), 'public-spa', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const browser = new BrowserClient();
    const without = oidc.buildAuthorizationUrl(configuration, { redirect_uri: 'http://localhost:3999/spa', scope: 'openid', state: 's1234567' });
    const refused = await browser.go(without.toString(), { stopAt: isPortal });
    const params = new URL(refused.url).searchParams;
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/);

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: 'http://localhost:3999/spa', scope: 'openid offline_access', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const page = await browser.go(url.toString(), { stopAt: isPortal });
    const back = await browser.submit(page, '/login', { user_id: 'flow00001', password: 'Flow-pass-1' }, { stopAt: isPortal });
    const tokens = await oidc.authorizationCodeGrant(configuration, new URL(back.url), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.access_token).toBeDefined();
  });

  it('logs out through the confirmation screen and back to the portal, ending the session and its refresh tokens', async () => {
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'flow00001', 'Flow-pass-1');
    const tokens = await rp.exchange(after.url, request);
    expect(tokens.refresh_token).toBeDefined();
    const endSession = oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://localhost:3999/' });
    const confirm = await browser.go(endSession.toString(), { stopAt: isPortal });
    expect(confirm.html).toContain('ログアウトしてもよろしいですか？');
    expect(confirm.html).toContain('ログアウトする');
    const back = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });
    expect(back.url).toBe('http://localhost:3999/');

    // The session is gone: a new login shows the login screen again instead of a silent return.
    const again = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(again.html).toContain('ログイン状態の保存');
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('returns to the portal without logging out from ログアウトしない', async () => {
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'flow00001', 'Flow-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const endSession = oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://localhost:3999/' });
    const confirm = await browser.go(endSession.toString(), { stopAt: isPortal });
    const back = await browser.submit(confirm, '/session/end/confirm', {}, { stopAt: isPortal });
    expect(back.url).toBe('http://localhost:3999/');
    const silent = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(isPortal(silent.url)).toBe(true);
  });
});

describe('token endpoints between portals', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.clients.push({ client_id: 'other-portal', client_secret: 'other-portal-secret-0123456789', public: false, redirect_uris: ['http://localhost:3998/cb'], post_logout_redirect_uris: [], scope: 'openid offline_access profile email' });
      },
    });
    await t.addMember({ userId: 'between01' }, { password: 'Between-pass-1', onboarded: true });
  });
  afterAll(async () => { await t.close(); });

  it('lets a portal revoke or inspect only its own tokens', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'between01', 'Between-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const other = await oidc.discovery(new URL(t.url), 'other-portal', undefined, oidc.ClientSecretBasic('other-portal-secret-0123456789'), { execute: [oidc.allowInsecureRequests] });
    const introspected = await oidc.tokenIntrospection(other, tokens.access_token);
    expect(introspected.active).toBe(false);
    await oidc.tokenRevocation(other, tokens.refresh_token!);
    // Still usable by its own portal: the other portal's revocation did nothing.
    const refreshed = await oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
    expect(refreshed.access_token).toBeDefined();
    expect((await oidc.tokenIntrospection(rp.configuration, refreshed.access_token)).active).toBe(true);
  });
});
