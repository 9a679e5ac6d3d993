import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { registerClient } from '../../src/config/clients.js';
import type { Config } from '../../src/config/index.js';
import { startTestIdp, BrowserClient, completeTotp, type TestIdp } from '../support/idp.js';

/** A portal registered with the FAPI 2.0 Security Profile: its key pair (the public half in clients.json). */
const FAPI = { id: 'fapi-portal', redirect: 'http://localhost:3999/fapi/callback', kid: randomUUID() };
const atFapiPortal = (u: string) => u.startsWith('http://localhost:3999/');

async function fapiPortalKeys() {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicJwk = { ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid: FAPI.kid, alg: 'ES256', use: 'sig' };
  return { privateKey: pair.privateKey, publicJwk };
}

function registerFapiPortal(config: Config, publicJwk: Record<string, unknown>): void {
  config.clients.push(
    registerClient({
      client_id: FAPI.id,
      client_name: 'FAPI 2.0 portal',
      profile: 'fapi2',
      jwks: { keys: [publicJwk as { kty: string }] },
      redirect_uris: [FAPI.redirect],
      scope: 'openid offline_access profile email',
    }),
  );
}

/**
 * A portal that shows medical data: FAPI 2.0 (PAR, PKCE S256, private_key_jwt, DPoP), driven by
 * openid-client as a real portal would, and each thing less refused with the standard error.
 */
describe('a FAPI 2.0 portal', () => {
  let t: TestIdp;
  let keys: Awaited<ReturnType<typeof fapiPortalKeys>>;
  let userId: string;
  beforeAll(async () => {
    keys = await fapiPortalKeys();
    t = await startTestIdp({ configure: (c) => registerFapiPortal(c, keys.publicJwk) });
    userId = await t.addMember({ userId: 'fapi00001', name: '金融 花子' }, { password: 'Fapi-pass-2026', onboarded: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The portal's openid-client configuration: private_key_jwt with its key, ES256 ID tokens. */
  async function portal(auth: oidc.ClientAuth = oidc.PrivateKeyJwt({ key: keys.privateKey, kid: FAPI.kid })) {
    return oidc.discovery(new URL(t.url), FAPI.id, { id_token_signed_response_alg: 'ES256' }, auth, { execute: [oidc.allowInsecureRequests] });
  }

  /** PAR (with the DPoP key bound to the code), then the member logs in; the callback URL. */
  async function authorize(configuration: oidc.Configuration, DPoP: oidc.DPoPHandle) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc
      .buildAuthorizationUrlWithPAR(
        configuration,
        {
          redirect_uri: FAPI.redirect,
          scope: 'openid profile email offline_access',
          state,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        },
        { DPoP },
      )
      .catch((err: unknown) => {
        throw new Error(`PAR refused: ${JSON.stringify((err as { cause?: unknown }).cause ?? err)}`);
      });
    const browser = new BrowserClient();
    const loginPage = await browser.go(url.href, { stopAt: atFapiPortal });
    const afterPassword = await browser.submit(loginPage, '/login', { user_id: userId, password: 'Fapi-pass-2026' }, { stopAt: atFapiPortal });
    const callback = await completeTotp(browser, afterPassword, userId);
    expect(atFapiPortal(callback.url)).toBe(true);
    return { callback: new URL(callback.url), verifier, state };
  }

  /** The member logged in at the portal: its tokens, bound to a DPoP key of its own. */
  async function signedIn() {
    const configuration = await portal();
    const dpopKeys = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(configuration, dpopKeys);
    const { callback, verifier, state } = await authorize(configuration, DPoP);
    const tokens = await oidc.authorizationCodeGrant(configuration, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP });
    return { configuration, dpopKeys, DPoP, tokens };
  }

  it('logs a member in: PAR, private_key_jwt, DPoP-bound tokens, iss in the response, ES256 ID token, userinfo and refresh with proofs', async () => {
    const discovery = (await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.pushed_authorization_request_endpoint).toBe(`${t.url}/request`);
    expect(discovery.authorization_response_iss_parameter_supported).toBe(true);
    expect(discovery.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256']));
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['private_key_jwt']));

    const configuration = await portal();
    const DPoP = oidc.getDPoPHandle(configuration, await oidc.randomDPoPKeyPair('ES256'));
    const { callback, verifier, state } = await authorize(configuration, DPoP);
    expect(callback.searchParams.get('iss')).toBe(t.url);

    const tokens = await oidc.authorizationCodeGrant(
      configuration,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type).toBe('dpop');
    expect(jose.decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
    const sub = tokens.claims()!.sub;
    const userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, sub, { DPoP });
    expect(userinfo.name).toBe('金融 花子');

    // The access token is DPoP-bound: as a bearer token it is worth nothing.
    const bearer = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(bearer.status).toBe(401);

    // Refresh with a proof; the refresh token is not rotated (FAPI 2.0: a retried refresh works).
    const refreshed = await oidc.refreshTokenGrant(configuration, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.token_type).toBe('dpop');
    expect(refreshed.refresh_token ?? tokens.refresh_token).toBe(tokens.refresh_token);
    const again = await oidc.refreshTokenGrant(configuration, tokens.refresh_token!, undefined, { DPoP });
    expect(again.access_token).not.toBe(refreshed.access_token);
  });

  it('refuses an authorization request that did not come through PAR', async () => {
    const configuration = await portal();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: FAPI.redirect,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const response = await fetch(url, { redirect: 'manual' });
    const answer =
      response.status === 303 || response.status === 302 ? new URL(response.headers.get('location')!).searchParams.get('error') : await response.text();
    expect(response.status).toBeLessThan(500);
    expect(answer).toContain('invalid_request');
  });

  it('refuses a pushed request without PKCE', async () => {
    const configuration = await portal();
    const DPoP = oidc.getDPoPHandle(configuration, await oidc.randomDPoPKeyPair('ES256'));
    await expect(oidc.buildAuthorizationUrlWithPAR(configuration, { redirect_uri: FAPI.redirect, scope: 'openid' }, { DPoP })).rejects.toMatchObject({
      error: 'invalid_request',
    });
  });

  it('refuses a client secret instead of private_key_jwt (invalid_client)', async () => {
    const configuration = await portal(oidc.ClientSecretBasic('a-guessed-secret-0123456789'));
    expect(await pushedRequest(configuration)).toBe('invalid_client');
  });

  it('refuses the code without a DPoP proof, and with a proof of another key', async () => {
    const configuration = await portal();
    const DPoP = oidc.getDPoPHandle(configuration, await oidc.randomDPoPKeyPair('ES256'));
    const { callback, verifier, state } = await authorize(configuration, DPoP);
    const checks = { pkceCodeVerifier: verifier, expectedState: state };
    // The code is bound to the key of the pushed request's proof (dpop_jkt).
    const otherKey = oidc.getDPoPHandle(configuration, await oidc.randomDPoPKeyPair('ES256'));
    expect(await refusal(oidc.authorizationCodeGrant(configuration, callback, checks, undefined, { DPoP: otherKey }))).toBe('invalid_grant');
    expect(await refusal(oidc.authorizationCodeGrant(configuration, callback, checks))).toBe('invalid_grant');
  });

  it('refuses the refresh and the access token with a proof of another key, or none', async () => {
    const { configuration, DPoP, tokens } = await signedIn();
    const otherKey = oidc.getDPoPHandle(configuration, await oidc.randomDPoPKeyPair('ES256'));
    await expect(oidc.fetchUserInfo(configuration, tokens.access_token, oidc.skipSubjectCheck, { DPoP: otherKey })).rejects.toBeInstanceOf(
      oidc.WWWAuthenticateChallengeError,
    );
    expect(await refusal(oidc.refreshTokenGrant(configuration, tokens.refresh_token!))).toBe('invalid_grant');
    expect(await refusal(oidc.refreshTokenGrant(configuration, tokens.refresh_token!, undefined, { DPoP: otherKey }))).toBe('invalid_grant');
    // The refusals cost the portal nothing: with its own proof the refresh token still works.
    expect((await oidc.refreshTokenGrant(configuration, tokens.refresh_token!, undefined, { DPoP })).token_type).toBe('dpop');
  });

  it('refuses a replayed DPoP proof', async () => {
    const { dpopKeys, tokens } = await signedIn();
    const proof = await dpopProof(dpopKeys, 'GET', `${t.url}/me`, tokens.access_token);
    const first = await fetch(`${t.url}/me`, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } });
    expect(first.status).toBe(200);
    const replay = await fetch(`${t.url}/me`, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('www-authenticate')).toMatch(/invalid_dpop_proof|invalid_token/);
  });

  it('the same proof sent twice at the same moment is accepted once', async () => {
    const { dpopKeys, tokens } = await signedIn();
    const proof = await dpopProof(dpopKeys, 'GET', `${t.url}/me`, tokens.access_token);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${t.url}/me`, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array(9).fill(401)]);
  });
});

/**
 * A portal that publishes its keys (jwks_uri) on a loopback address, as the demo portal does: the
 * provider fetches them outside production; in production only when PORTAL_PRIVATE_HOSTS names the
 * host, so a registration cannot turn the provider against the deployment's own network.
 */
describe('a FAPI 2.0 portal with a jwks_uri on a private address', () => {
  let keys: Awaited<ReturnType<typeof fapiPortalKeys>>;
  let jwksServer: Server;
  let jwksUri: string;
  beforeAll(async () => {
    keys = await fapiPortalKeys();
    jwksServer = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [keys.publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  async function pushedRequestAt(options: { production: boolean; privateHosts?: string }): Promise<string> {
    const t = await startTestIdp({
      configure: (c) => {
        c.production = options.production;
        c.portalPrivateHosts = options.privateHosts ? [options.privateHosts] : [];
        c.clients.push(registerClient({ client_id: FAPI.id, profile: 'fapi2', jwks_uri: jwksUri, redirect_uris: [FAPI.redirect] }));
      },
    });
    try {
      const configuration = await oidc.discovery(
        new URL(t.url),
        FAPI.id,
        { id_token_signed_response_alg: 'ES256' },
        oidc.PrivateKeyJwt({ key: keys.privateKey, kid: FAPI.kid }),
        { execute: [oidc.allowInsecureRequests] },
      );
      return (await pushedRequest(configuration)) ?? 'no error code';
    } finally {
      await t.close();
    }
  }

  it('outside production: its keys are fetched and its assertion accepted', async () => {
    expect(await pushedRequestAt({ production: false })).toBe('accepted');
  });

  it('in production: refused (invalid_client), unless PORTAL_PRIVATE_HOSTS names its host', async () => {
    expect(await pushedRequestAt({ production: true })).toBe('invalid_client');
    expect(await pushedRequestAt({ production: true, privateHosts: new URL(jwksUri).hostname })).toBe('accepted');
  });
});

/**
 * Two processes serve one society behind one load balancer (X-Forwarded-Host, TRUST_PROXY): a DPoP
 * nonce one gave out is good at the other, and a proof one accepted is refused by the other.
 */
describe('DPoP across two processes', () => {
  let a: TestIdp;
  let b: TestIdp;
  let keys: Awaited<ReturnType<typeof fapiPortalKeys>>;
  let userId: string;
  let behindProxy: Record<string, string>;
  beforeAll(async () => {
    keys = await fapiPortalKeys();
    a = await startTestIdp({ env: { TRUST_PROXY: 'true' }, configure: (c) => registerFapiPortal(c, keys.publicJwk) });
    b = await startTestIdp({
      databaseUrl: a.databaseUrl,
      env: { ISSUER: a.url, TRUST_PROXY: 'true' },
      configure: (c) => registerFapiPortal(c, keys.publicJwk),
    });
    behindProxy = { 'x-forwarded-host': new URL(a.url).host };
    userId = await a.addMember({ userId: 'fapi00002', name: '二重 次郎' }, { password: 'Fapi-pass-2026', onboarded: true });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("takes A's nonce at B, and refuses at B a proof A accepted", async () => {
    const auth = oidc.PrivateKeyJwt({ key: keys.privateKey, kid: FAPI.kid });
    const atA = await oidc.discovery(new URL(a.url), FAPI.id, { id_token_signed_response_alg: 'ES256' }, auth, { execute: [oidc.allowInsecureRequests] });
    const answersOfA: string[] = [];
    atA[oidc.customFetch] = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      answersOfA.push(`${new URL(url).pathname} ${response.status} ${response.headers.get('dpop-nonce') ? 'nonce' : ''}`.trim());
      return response;
    };
    // The same portal, every request sent to B.
    const requestsToB: string[] = [];
    const atB = await oidc.discovery(new URL(a.url), FAPI.id, { id_token_signed_response_alg: 'ES256' }, auth, { execute: [oidc.allowInsecureRequests] });
    atB[oidc.customFetch] = (url, options) => {
      const target = new URL(url);
      requestsToB.push(target.pathname);
      return fetch(`${b.url}${target.pathname}${target.search}`, {
        ...(options as RequestInit),
        headers: { ...(options.headers as Record<string, string>), ...behindProxy },
      });
    };
    const dpopKeys = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(atA, dpopKeys);
    const verifier = oidc.randomPKCECodeVerifier();
    // PAR at A: the first try is answered with use_dpop_nonce and A's nonce, which the handle keeps.
    const url = await oidc.buildAuthorizationUrlWithPAR(
      atA,
      {
        redirect_uri: FAPI.redirect,
        scope: 'openid offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      { DPoP },
    );
    // A FAPI 2.0 portal must use a nonce: the proof without one was refused.
    expect(answersOfA).toEqual(['/request 400 nonce', '/request 201']);
    const browser = new BrowserClient();
    const loginPage = await browser.go(url.href, { stopAt: atFapiPortal });
    const afterPassword = await browser.submit(loginPage, '/login', { user_id: userId, password: 'Fapi-pass-2026' }, { stopAt: atFapiPortal });
    const callback = await completeTotp(browser, afterPassword, userId);
    // The code at B with A's nonce: one request, no second try with a nonce of B's.
    const tokens = await oidc.authorizationCodeGrant(atB, new URL(callback.url), { pkceCodeVerifier: verifier }, undefined, { DPoP });
    expect(tokens.token_type).toBe('dpop');
    expect(requestsToB).toEqual(['/token']);

    const proof = await dpopProof(dpopKeys, 'GET', `${a.url}/me`, tokens.access_token);
    const atProcessA = await fetch(`${a.url}/me`, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } });
    expect(atProcessA.status).toBe(200);
    const replayAtB = await fetch(`${b.url}/me`, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof, ...behindProxy } });
    expect(replayAtB.status).toBe(401);
    // A fresh proof is good at B.
    const fresh = await fetch(`${b.url}/me`, {
      headers: { authorization: `DPoP ${tokens.access_token}`, dpop: await dpopProof(dpopKeys, 'GET', `${a.url}/me`, tokens.access_token), ...behindProxy },
    });
    expect(fresh.status).toBe(200);
  });
});

/** A pushed authorization request (PKCE, a fresh DPoP key): 'accepted', or the error code it was refused with. */
async function pushedRequest(configuration: oidc.Configuration): Promise<string | undefined> {
  const DPoP = oidc.getDPoPHandle(configuration, await oidc.randomDPoPKeyPair('ES256'));
  const parameters = {
    redirect_uri: FAPI.redirect,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  };
  return refusal(oidc.buildAuthorizationUrlWithPAR(configuration, parameters, { DPoP }));
}

/** The OAuth error code a request was refused with (in the body or a WWW-Authenticate challenge), or 'accepted'. */
async function refusal(request: Promise<unknown>): Promise<string | undefined> {
  const err = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!err) return 'accepted';
  if (err instanceof oidc.WWWAuthenticateChallengeError) return err.cause[0]?.parameters.error;
  return (err as { error?: string }).error ?? String(err);
}

/** A DPoP proof (RFC 9449 §4) made by hand, so that the very same proof can be sent twice. */
async function dpopProof(keys: CryptoKeyPair, htm: string, htu: string, accessToken?: string, nonce?: string): Promise<string> {
  const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey);
  const ath = accessToken ? Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))).toString('base64url') : undefined;
  return new jose.SignJWT({ htm, htu, jti: randomUUID(), ...(ath ? { ath } : {}), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! } })
    .setIssuedAt()
    .sign(keys.privateKey);
}
