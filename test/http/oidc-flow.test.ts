import { registerClient } from '../../src/config/clients.js';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import * as oidc from 'openid-client';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, TEST_CLIENT, type TestIdp, completeTotp, totpApp } from '../support/idp.js';
import { registerTotpApp } from '../support/factors.js';

const PUBLIC_CLIENT = { id: 'public-spa', redirect: 'http://localhost:3999/spa' };

/** Checks a compact JWS against the provider's published JWKS, as a portal verifying an ID token would. */
async function verifiedPayload(issuer: string, jws: string): Promise<Record<string, unknown>> {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string; alg: string };
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const { keys } = (await (await fetch(discovery.jwks_uri)).json()) as { keys: (JsonWebKey & { kid: string })[] };
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`no published key ${kid}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const ok = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key,
    Buffer.from(signature, 'base64url'),
  );
  if (!ok) throw new Error('signature does not verify');
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

describe('OpenID Connect with a real client (openid-client)', () => {
  let t: TestIdp;
  let memberId: string;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.clients.push(
          registerClient({
            client_id: PUBLIC_CLIENT.id,
            public: true,
            redirect_uris: [PUBLIC_CLIENT.redirect],
            post_logout_redirect_uris: [],
            scope: 'openid offline_access profile email',
          }),
        );
      },
    });
    await t.addMember(
      { userId: 'flow00001', name: '流れ 一郎', email: 'flow@example.jp', birthdate: '1979-08-22' },
      // Many logins within a minute: each device's app gives two fresh codes per 30 seconds.
      { password: 'Flow-pass-1', onboarded: true, totpDevices: Array.from({ length: 10 }, (_, i) => `端末${i + 1}`) },
    );
    memberId = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['flow00001']))!.id;
  });
  afterAll(async () => {
    await t.close();
  });

  async function login(extra: Record<string, string> = {}, userId = 'flow00001', password = 'Flow-pass-1') {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), userId, password, extra);
    expect(isPortal(after.url)).toBe(true);
    return { rp, tokens: await rp.exchange(after.url, request) };
  }

  it('publishes a discovery document for the code flow with PKCE, refresh, revocation, userinfo and logout', async () => {
    const response = await fetch(`${t.url}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const d = (await response.json()) as Record<string, unknown>;
    expect(d).toMatchObject({
      issuer: t.url,
      authorization_endpoint: `${t.url}/auth`,
      token_endpoint: `${t.url}/token`,
      userinfo_endpoint: `${t.url}/me`,
      jwks_uri: `${t.url}/jwks`,
      end_session_endpoint: `${t.url}/session/end`,
      revocation_endpoint: `${t.url}/token/revocation`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(d.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    expect(d.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access', 'profile', 'email']));
    expect(d.claims_supported).toEqual(expect.arrayContaining(['sub', 'preferred_username', 'name', 'email', 'email_verified', 'birthdate']));
    expect(d.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256']));
  });

  it('publishes a JWKS of public signing keys only', async () => {
    const response = await fetch(`${t.url}/jwks`);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.map((k) => k.kty).sort()).toEqual(['EC', 'RSA']);
    for (const key of keys) {
      expect(typeof key.kid).toBe('string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key[secret]).toBeUndefined();
    }
  });

  it('runs the code flow with PKCE straight back to the portal (no consent screen), with an ID token signed by a published key', async () => {
    const browser = new BrowserClient();
    const { rp, request, loginPage, after } = await loginThroughPortal(t.url, browser, 'flow00001', 'Flow-pass-1');
    expect(loginPage.html).toContain('ログイン状態の保存');
    expect(after.status).toBe(303);
    const callback = new URL(after.url);
    expect(callback.origin + callback.pathname).toBe(TEST_CLIENT.redirect);
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(t.url);
    const tokens = await rp.exchange(after.url, request);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeDefined();
    const payload = await verifiedPayload(t.url, tokens.id_token!);
    expect(payload).toMatchObject({ iss: t.url, aud: TEST_CLIENT.id, sub: memberId, nonce: request.nonce });
  });

  it("gives sub as the member's stable uuid, not the user ID, and the claims of profile and email", async () => {
    const { rp, tokens } = await login();
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(memberId);
    expect(claims.sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(claims).toMatchObject({
      preferred_username: 'flow00001',
      name: '流れ 一郎',
      email: 'flow@example.jp',
      email_verified: true,
      birthdate: '1979-08-22',
    });
    const userinfo = await oidc.fetchUserInfo(rp.configuration, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({
      sub: memberId,
      preferred_username: 'flow00001',
      name: '流れ 一郎',
      email: 'flow@example.jp',
      email_verified: true,
      birthdate: '1979-08-22',
    });
  });

  it('gives only the sub for the openid scope alone, in the ID token and from userinfo', async () => {
    const { rp, tokens } = await login({ scope: 'openid' });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(memberId);
    for (const name of ['preferred_username', 'name', 'email', 'email_verified', 'birthdate']) expect(claims[name]).toBeUndefined();
    const userinfo = await oidc.fetchUserInfo(rp.configuration, tokens.access_token, claims.sub);
    expect(userinfo).toEqual({ sub: memberId });
  });

  it('gives the profile claims without the email ones for openid profile', async () => {
    const { rp, tokens } = await login({ scope: 'openid profile' });
    const userinfo = await oidc.fetchUserInfo(rp.configuration, tokens.access_token, memberId);
    expect(userinfo).toMatchObject({ sub: memberId, preferred_username: 'flow00001', name: '流れ 一郎', birthdate: '1979-08-22' });
    expect(userinfo.email).toBeUndefined();
    expect(userinfo.email_verified).toBeUndefined();
  });

  it('says email_verified false for an address the member has not verified', async () => {
    await t.addMember({ userId: 'unverif01', email: 'unverified@example.jp' }, { password: 'Unverif-pass-1', onboarded: true });
    await t.idp.sql.run(`update member set email_verified = false where user_id = 'unverif01'`);
    const { tokens } = await login({ scope: 'openid email' }, 'unverif01', 'Unverif-pass-1');
    expect(tokens.claims()).toMatchObject({ email: 'unverified@example.jp', email_verified: false });
  });

  it('keeps the same sub after the user ID changes', async () => {
    await t.addMember({ userId: 'rename001' }, { password: 'Rename-pass-1', onboarded: true });
    const before = (await login({}, 'rename001', 'Rename-pass-1')).tokens.claims()!;
    await t.idp.sql.run(`update member set user_id = 'renamed01' where user_id = 'rename001'`);
    registerTotpApp('renamed01', totpApp('rename001')!);
    const old = await loginThroughPortal(t.url, new BrowserClient(), 'rename001', 'Rename-pass-1');
    expect(isPortal(old.after.url)).toBe(false);
    const after = (await login({}, 'renamed01', 'Rename-pass-1')).tokens.claims()!;
    expect(after.sub).toBe(before.sub);
    expect(before.preferred_username).toBe('rename001');
    expect(after.preferred_username).toBe('renamed01');
  });

  it('refuses a second exchange of the same authorization code', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'flow00001', 'Flow-pass-1');
    await rp.exchange(after.url, request);
    await expect(rp.exchange(after.url, request)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('rotates refresh tokens: the new one works, the old one is refused after use', async () => {
    const { rp, tokens } = await login();
    const first = tokens.refresh_token!;
    const refreshed = await oidc.refreshTokenGrant(rp.configuration, first);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(first);
    expect(refreshed.claims()!.sub).toBe(memberId);
    expect(await oidc.fetchUserInfo(rp.configuration, refreshed.access_token, memberId)).toMatchObject({ sub: memberId, preferred_username: 'flow00001' });
    await expect(oidc.refreshTokenGrant(rp.configuration, first)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('treats a reused refresh token as theft: the whole grant is revoked, the newer token too', async () => {
    const { rp, tokens } = await login();
    const newer = (await oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).refresh_token!;
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(rp.configuration, newer)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes a refresh token', async () => {
    const { rp, tokens } = await login();
    await oidc.tokenRevocation(rp.configuration, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes an access token: userinfo refuses it afterwards', async () => {
    const { rp, tokens } = await login();
    expect((await oidc.fetchUserInfo(rp.configuration, tokens.access_token, memberId)).sub).toBe(memberId);
    await oidc.tokenRevocation(rp.configuration, tokens.access_token);
    await expect(oidc.fetchUserInfo(rp.configuration, tokens.access_token, memberId)).rejects.toMatchObject({ status: 401 });
  });

  it('answers userinfo without a valid token with 401', async () => {
    const response = await fetch(`${t.url}/me`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  describe('a public client', () => {
    let spa: oidc.Configuration;
    beforeAll(async () => {
      spa = await oidc.discovery(new URL(t.url), PUBLIC_CLIENT.id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    });
    const refusal = async (params: Record<string, string>) => {
      const url = oidc.buildAuthorizationUrl(spa, { redirect_uri: PUBLIC_CLIENT.redirect, scope: 'openid', state: 'state-1234567', ...params });
      const refused = await new BrowserClient().go(url.toString(), { stopAt: isPortal });
      expect(isPortal(refused.url)).toBe(true);
      return new URL(refused.url).searchParams;
    };

    it('is refused without a code_challenge', async () => {
      const params = await refusal({});
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('error_description')).toMatch(/PKCE/);
      expect(params.get('state')).toBe('state-1234567');
    });

    it('is refused with the plain method', async () => {
      const params = await refusal({ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('code')).toBeNull();
    });

    it('logs in with S256, and the code needs the right verifier', async () => {
      const browser = new BrowserClient();
      async function codeFor(verifier: string, state: string) {
        const url = oidc.buildAuthorizationUrl(spa, {
          redirect_uri: PUBLIC_CLIENT.redirect,
          scope: 'openid offline_access',
          state,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        const page = await browser.go(url.toString(), { stopAt: isPortal });
        if (isPortal(page.url)) return page.url;
        return (
          await completeTotp(
            browser,
            await browser.submit(page, '/login', { user_id: 'flow00001', password: 'Flow-pass-1' }, { stopAt: isPortal }),
            'flow00001',
          )
        ).url;
      }
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const back = await codeFor(verifier, state);
      expect(back.startsWith(PUBLIC_CLIENT.redirect)).toBe(true);
      const tokens = await oidc.authorizationCodeGrant(spa, new URL(back), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()!.sub).toBe(memberId);

      const state2 = oidc.randomState();
      const back2 = await codeFor(oidc.randomPKCECodeVerifier(), state2);
      await expect(
        oidc.authorizationCodeGrant(spa, new URL(back2), { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state2 }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    });
  });
});

describe('token endpoints between portals', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.clients.push(
          registerClient({
            client_id: 'other-portal',
            client_secret: 'other-portal-secret-0123456789',
            redirect_uris: ['http://localhost:3998/cb'],
            post_logout_redirect_uris: [],
            scope: 'openid offline_access profile email',
          }),
        );
      },
    });
    await t.addMember({ userId: 'between01' }, { password: 'Between-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it('lets a portal revoke or inspect only its own tokens', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'between01', 'Between-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const other = await oidc.discovery(new URL(t.url), 'other-portal', undefined, oidc.ClientSecretBasic('other-portal-secret-0123456789'), {
      execute: [oidc.allowInsecureRequests],
    });
    const introspected = await oidc.tokenIntrospection(other, tokens.access_token);
    expect(introspected.active).toBe(false);
    await oidc.tokenRevocation(other, tokens.refresh_token!);
    // Still usable by its own portal: the other portal's revocation did nothing.
    const refreshed = await oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
    expect(refreshed.access_token).toBeDefined();
    expect((await oidc.tokenIntrospection(rp.configuration, refreshed.access_token)).active).toBe(true);
  });

  it("refuses a portal's wrong secret at the token endpoint", async () => {
    const { request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'between01', 'Between-pass-1');
    const response = await fetch(`${t.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${TEST_CLIENT.id}:not-the-secret`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: new URL(after.url).searchParams.get('code')!,
        redirect_uri: TEST_CLIENT.redirect,
        code_verifier: request.verifier,
      }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });
});
