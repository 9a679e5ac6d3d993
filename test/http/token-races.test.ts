import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, TEST_CLIENT, type TestIdp } from '../support/idp.js';
import { asDatabaseOwner } from '../support/database.js';

/**
 * Issue 11, item 2: a code or a refresh token redeemed by two requests at the same moment. Exactly
 * one may succeed; the other gets invalid_grant and the grant is revoked, so the winner's tokens
 * stop working too (RFC 9700 §4.14).
 */
const TRIALS = 6;
const basic = `Basic ${Buffer.from(`${TEST_CLIENT.id}:${TEST_CLIENT.secret}`).toString('base64')}`;

describe('simultaneous redemption of one code or refresh token', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    // Fourteen logins within a minute: each device's app gives two fresh codes per 30 seconds.
    const devices = Array.from({ length: 8 }, (_, i) => `端末${i + 1}`);
    await t.addMember({ userId: 'race00001' }, { password: 'Race-pass-1', onboarded: true, totpDevices: devices });
  });
  afterAll(async () => {
    await t.close();
  });

  const token = (form: Record<string, string>) =>
    fetch(`${t.url}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  const userinfo = (accessToken: string) => fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });

  async function codeAtPortal() {
    const { request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'race00001', 'Race-pass-1');
    expect(isPortal(after.url)).toBe(true);
    const code = new URL(after.url).searchParams.get('code')!;
    return { grant_type: 'authorization_code', code, redirect_uri: TEST_CLIENT.redirect, code_verifier: request.verifier };
  }

  it('gives tokens for a code to exactly one of two simultaneous requests, and revokes the grant', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const form = await codeAtPortal();
      const responses = await Promise.all([token(form), token(form)]);
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, string>>));
      const ok = responses.map((r) => r.status).filter((s) => s === 200);
      expect({ trial, ok: ok.length }).toEqual({ trial, ok: 1 });
      const loser = bodies.find((_b, i) => responses[i]!.status !== 200)!;
      expect(loser.error).toBe('invalid_grant');
      const winner = bodies.find((_b, i) => responses[i]!.status === 200)!;
      expect((await userinfo(winner.access_token!)).status).toBe(401);
      const refresh = await token({ grant_type: 'refresh_token', refresh_token: winner.refresh_token! });
      expect(refresh.status).toBe(400);
    }
  });

  it('rotates a refresh token for exactly one of two simultaneous requests, and revokes the grant', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const first = (await (await token(await codeAtPortal())).json()) as Record<string, string>;
      const form = { grant_type: 'refresh_token', refresh_token: first.refresh_token! };
      const responses = await Promise.all([token(form), token(form)]);
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, string>>));
      const ok = responses.filter((r) => r.status === 200);
      expect({ trial, ok: ok.length }).toEqual({ trial, ok: 1 });
      const loser = bodies.find((_b, i) => responses[i]!.status !== 200)!;
      expect(loser.error).toBe('invalid_grant');
      const winner = bodies.find((_b, i) => responses[i]!.status === 200)!;
      // Neither chain goes on: the new refresh token and both access tokens are dead.
      expect((await token({ grant_type: 'refresh_token', refresh_token: winner.refresh_token! })).status).toBe(400);
      expect((await userinfo(winner.access_token!)).status).toBe(401);
      expect((await userinfo(first.access_token!)).status).toBe(401);
    }
  });

  it('still refreshes normally, and a narrower scope leaves the token usable when refused', async () => {
    const first = (await (await token(await codeAtPortal())).json()) as Record<string, string>;
    const refused = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token!, scope: 'openid admin' });
    expect(refused.status).toBe(400);
    const next = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(next.status).toBe(200);
    const body = (await next.json()) as Record<string, string>;
    expect((await userinfo(body.access_token!)).status).toBe(200);
    const narrower = await token({ grant_type: 'refresh_token', refresh_token: body.refresh_token!, scope: 'openid' });
    expect(narrower.status).toBe(200);
  });

  it('consumes the presented refresh token only with the write of the new tokens: a grant whose write fails leaves it usable', async () => {
    const first = (await (await token(await codeAtPortal())).json()) as Record<string, string>;
    const form = { grant_type: 'refresh_token', refresh_token: first.refresh_token! };
    const asOwner = (text: string) => asDatabaseOwner(t.databaseUrl, (owner) => owner.query(text));
    // PostgreSQL refuses the write of the new access token (as a full disk or a failover would).
    await asOwner(`create function refuse_access_token() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`);
    await asOwner(
      `create trigger refuse_access_token before insert on oidc_payload for each row when (new.model = 'AccessToken') execute function refuse_access_token()`,
    );
    try {
      const failed = await token(form);
      expect(failed.status).toBe(500);
      expect(((await failed.json()) as { error: string }).error).toBe('server_error');
    } finally {
      await asOwner('drop trigger refuse_access_token on oidc_payload');
      await asOwner('drop function refuse_access_token');
    }
    // The portal tries again with the same token: it was not consumed, and nothing else was issued.
    const retried = await token(form);
    expect(retried.status).toBe(200);
    const body = (await retried.json()) as Record<string, string>;
    expect((await userinfo(body.access_token!)).status).toBe(200);
    // Now it is consumed: presenting it again is a replay.
    expect((await token(form)).status).toBe(400);
  });
});
