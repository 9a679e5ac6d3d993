import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { withSociety } from '../../src/db/society.js';
import { rotateStoredSigningKeys } from '../../src/members/changes/secrets.js';
import { startTestIdp, BrowserClient, isPortal, loginThroughPortal, testRelyingParty, type TestIdp } from '../support/idp.js';

type Jwks = { keys: { kid: string; alg: string; key_ops?: string[] }[] };

/**
 * `keys rotate`: a new key is published before it signs anything, signs after the grace period, and
 * the old key is published until the tokens it signed have expired. Time is scaled down here (a
 * grace of seconds, the processes reading their keys every 200 ms, a portal caching the JWKS for a
 * second), as it is scaled up in production (a day's grace, a minute, five minutes).
 */
describe('signing keys that rotate', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({ idpOptions: { keyCheckMs: 200 } });
    await t.addMember({ userId: 'rotate001', name: '鍵 交換' }, { password: 'Rotate-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  const jwks = async () => {
    const response = await fetch(`${t.url}/jwks`);
    return { body: (await response.json()) as Jwks, cacheControl: response.headers.get('cache-control') };
  };
  const signers = (set: Jwks) => set.keys.filter((k) => !k.key_ops).map((k) => k.kid);
  const verifiers = (set: Jwks) => set.keys.filter((k) => k.key_ops?.join() === 'verify').map((k) => k.kid);
  const rotate = (graceSeconds: number, retireAfterSeconds: number) =>
    withSociety(t.idp.society, () =>
      rotateStoredSigningKeys({ sql: t.idp.sql }, { secrets: t.config, plan: { graceSeconds, retireAfterSeconds }, via: 'test' }),
    );

  it('publishes, then signs with, then retires: a portal logging members in and refreshing throughout never meets a token it cannot verify', async () => {
    const before = await jwks();
    expect(before.cacheControl).toBe('public, max-age=300');
    expect(before.body.keys).toHaveLength(2);
    const oldKids = signers(before.body);

    // The portal: the member's browser keeps its session; the portal logs them in again silently and
    // refreshes, verifying every ID token against the JWKS it caches (a second here).
    const browser = new BrowserClient();
    const first = await loginThroughPortal(t.url, browser, 'rotate001', 'Rotate-pass-1');
    let tokens = await first.rp.exchange(first.after.url, first.request);
    const portalKeys = jose.createRemoteJWKSet(new URL(`${t.url}/jwks`), { cacheMaxAge: 1000, cooldownDuration: 200 });
    const verify = async (idToken: string) => (await jose.jwtVerify(idToken, portalKeys, { issuer: t.url })).protectedHeader.kid!;
    const oldToken = tokens.id_token!;
    expect(oldKids).toContain(await verify(oldToken));

    const seen: string[] = [];
    const failures: string[] = [];
    let running = true;
    const portal = (async () => {
      const rp = await testRelyingParty(t.url);
      while (running) {
        try {
          const request = await rp.authorizationRequest({ prompt: 'none' });
          const callback = await browser.go(request.url, { stopAt: isPortal });
          const login = await rp.exchange(callback.url, request);
          seen.push(await verify(login.id_token!));
          tokens = await oidc.refreshTokenGrant(first.rp.configuration, tokens.refresh_token!);
          seen.push(await verify(tokens.id_token!));
        } catch (err) {
          failures.push(String(err));
        }
        await sleep(50);
      }
    })();

    // Rotate: the new keys are published at once (every process within its key check), and do not sign.
    const rotation = await rotate(3, 3);
    await sleep(600);
    const published = await jwks();
    expect(published.body.keys).toHaveLength(4);
    expect(signers(published.body).sort()).toEqual([...oldKids].sort());
    expect(verifiers(published.body).sort()).toEqual(rotation.added.map((k) => k.kid).sort());
    const signedBeforeActivation = seen.length;

    // After the grace period the new keys sign; the old ones are still published, only to verify.
    await sleep(Math.max(0, rotation.activatesAt.getTime() - Date.now()) + 600);
    const switched = await jwks();
    expect(signers(switched.body).sort()).toEqual(rotation.added.map((k) => k.kid).sort());
    expect(verifiers(switched.body).sort()).toEqual([...oldKids].sort());
    await sleep(600);
    expect(seen.slice(0, signedBeforeActivation).every((kid) => oldKids.includes(kid))).toBe(true);
    expect(rotation.added.map((k) => k.kid)).toContain(seen.at(-1));
    // A token the old key signed still verifies while it is published.
    expect(oldKids).toContain(await verify(oldToken));

    // Once the tokens it signed have expired, the old key is retired.
    await sleep(Math.max(0, ...rotation.retiring.map((k) => k.retiresAt.getTime() - Date.now())) + 600);
    const retired = await jwks();
    expect(retired.body.keys.map((k) => k.kid).sort()).toEqual(rotation.added.map((k) => k.kid).sort());
    expect(signers(retired.body)).toHaveLength(2);

    running = false;
    await portal;
    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(10);
  });

  it('`keys rotate` refuses a grace period shorter than portals cache the JWKS, and a society with a key file', async () => {
    const { parseKeysRotateArgs, rotateKeys, MIN_GRACE_SECONDS } = await import('../../src/admin/keys-rotate.js');
    expect(() => parseKeysRotateArgs(['--grace', '60'])).toThrow(/--grace must be a whole number of seconds from/);
    expect(parseKeysRotateArgs(['--grace', String(MIN_GRACE_SECONDS)])).toEqual({ graceSeconds: MIN_GRACE_SECONDS });
    const withFile = await rotateKeys({ sql: t.idp.sql, config: { ...t.config, jwks: { keys: [{ kty: 'RSA' }] } } }, { graceSeconds: MIN_GRACE_SECONDS });
    expect(withFile.exitCode).not.toBe(0);
    expect(withFile.errors.join()).toMatch(/key file/);
  });
});
