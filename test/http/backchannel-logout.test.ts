import { metricsRegistry } from '../../src/ops/metrics.js';
import { registerClient } from '../../src/config/clients.js';
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { Writable } from 'node:stream';
import * as oidc from 'openid-client';
import { createLogger } from '../../src/logger.js';
import { resetMemberMfa } from '../../src/admin/member-reset-mfa.js';
import type { DeliveryOutcome } from '../../src/oidc/backchannel-delivery.js';
import {
  startMailedTestIdp,
  type MailedTestIdp,
  loginThroughPortal,
  isPortal,
  BrowserClient,
  TEST_CLIENT,
  startTestIdp,
  type TestIdp,
} from '../support/idp.js';
import { findForm } from '../support/browser-client.js';
import { mailedCode } from '../support/factors.js';
import { startLogoutReceiver, verifiedLogoutToken, type LogoutReceiver } from '../support/backchannel-receiver.js';

/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0): every portal with a
 * backchannel_logout_uri receives a signed logout token, over real HTTP, whenever the member's
 * session with it ends, through the outbox (src/oidc/backchannel-outbox.ts) and its delivery.
 */
const PLAIN = { id: 'plain-portal', secret: 'plain-portal-secret-0123456789', redirect: 'http://localhost:3999/plain/callback' };
const QUIET = { id: 'quiet-portal', secret: 'quiet-portal-secret-0123456789', redirect: 'http://localhost:3999/quiet/callback' };

describe('back-channel logout', () => {
  let t: MailedTestIdp;
  let receiver: LogoutReceiver;
  const outcomes: DeliveryOutcome[] = [];
  const logLines: Record<string, unknown>[] = [];
  const password = 'Backchannel-1';

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    t = await startMailedTestIdp({
      log: createLogger('warn', sink),
      idpOptions: {
        backchannelPolicy: { pollSeconds: 0.5, leaseSeconds: 10, firstDelaySeconds: 0.2, maxDelaySeconds: 1, maxAttempts: 3 },
        onBackchannelDelivery: (_society, outcome) => outcomes.push(outcome),
      },
      configure: (config) => {
        const test = config.clients.find((c) => c.client_id === TEST_CLIENT.id)!;
        test.backchannel_logout_uri = receiver.url;
        test.backchannel_logout_session_required = true;
        config.clients.push(
          registerClient({
            client_id: PLAIN.id,
            client_secret: PLAIN.secret,
            redirect_uris: [PLAIN.redirect],
            backchannel_logout_uri: `${receiver.url}?plain`,
          }),
        );
        config.clients.push(registerClient({ client_id: QUIET.id, client_secret: QUIET.secret, redirect_uris: [QUIET.redirect] }));
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });
  // A test is over when its tokens are: no delivery (and no outcome) spills into the next one.
  afterEach(() => outboxDrained());
  beforeEach(() => {
    receiver.answer(200);
    receiver.clear();
    outcomes.splice(0);
    logLines.splice(0);
  });

  const memberIdOf = async (userId: string) => (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
  const queued = async () => Number((await t.idp.sql.one<{ n: string }>('select count(*) as n from backchannel_logout where gave_up_at is null'))!.n);
  /** The outbox has nothing left to deliver (then no further token is on its way). */
  async function outboxDrained(): Promise<void> {
    for (let i = 0; i < 100 && (await queued()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await queued()).toBe(0);
  }

  /** A member logged in at the test portal (which registered a back channel, with sid) in a browser of their own. */
  async function loggedIn(userId: string, browser = new BrowserClient()) {
    const { rp, request, after } = await loginThroughPortal(t.url, browser, userId, password);
    const tokens = await rp.exchange(after.url, request);
    return { browser, rp, tokens, claims: tokens.claims()! };
  }
  async function member(userId: string) {
    await t.addMember({ userId, email: `${userId}@example.jp` }, { password, onboarded: true });
    return userId;
  }

  /** The same browser's single sign-on at another portal: its ID token claims. */
  async function alsoAt(browser: BrowserClient, portal: typeof PLAIN) {
    const configuration = await oidc.discovery(new URL(t.url), portal.id, undefined, oidc.ClientSecretBasic(portal.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: portal.redirect,
      scope: 'openid',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await browser.go(url.toString(), { stopAt: isPortal });
    expect(callback.url.startsWith(portal.redirect)).toBe(true);
    const tokens = await oidc.authorizationCodeGrant(configuration, new URL(callback.url), { pkceCodeVerifier: verifier, expectedState: state });
    return tokens.claims()!;
  }

  async function logOutAtProvider(session: Awaited<ReturnType<typeof loggedIn>>) {
    const { browser, rp, tokens } = session;
    const endSession = oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: TEST_CLIENT.postLogout });
    const confirm = await browser.go(endSession.toString(), { stopAt: isPortal });
    const form = findForm(confirm.html, '/session/end/confirm');
    return browser.request(new URL(form.action, confirm.url).toString(), { form: { ...form.hidden, logout: 'yes' } });
  }

  const verify = (token: string, clientId = TEST_CLIENT.id) => verifiedLogoutToken(token, t.url, clientId);

  it('RP-initiated logout: each portal of the session with a back channel gets a signed token (sid when it asked), one without gets nothing', async () => {
    const userId = await member('bcl00001');
    const session = await loggedIn(userId);
    const plain = await alsoAt(session.browser, PLAIN);
    await alsoAt(session.browser, QUIET);
    expect(session.claims.sid).toEqual(expect.any(String));

    const response = await logOutAtProvider(session);
    expect(response.status).toBe(303);
    const got = await receiver.waitFor(2);
    await outboxDrained();
    expect(receiver.received).toHaveLength(2);
    for (const r of got) expect(r.contentType).toBe('application/x-www-form-urlencoded');
    const claims = await Promise.all(
      got.map(async (r) => {
        const aud = JSON.parse(Buffer.from(r.token.split('.')[1]!, 'base64url').toString()).aud as string;
        return verify(r.token, aud);
      }),
    );
    const byPortal = Object.fromEntries(claims.map((c) => [c.aud as string, c]));
    expect(Object.keys(byPortal).sort()).toEqual([PLAIN.id, TEST_CLIENT.id]);
    // backchannel_logout_session_required: the session's sid, the one its ID token carried.
    expect(byPortal[TEST_CLIENT.id]).toMatchObject({ iss: t.url, sub: session.claims.sub, sid: session.claims.sid });
    expect(byPortal[PLAIN.id]).toMatchObject({ iss: t.url, sub: plain.sub });
    expect(byPortal[PLAIN.id]).not.toHaveProperty('sid');
    expect(outcomes).toEqual(['delivered', 'delivered']);
  });

  it("never keeps the member's page waiting on a portal: the logout answers while the portal has not", async () => {
    const userId = await member('bcl00002');
    const session = await loggedIn(userId);
    receiver.answer('hold');
    const response = await logOutAtProvider(session);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(TEST_CLIENT.postLogout);
    const [held] = await receiver.waitFor(1);
    receiver.release();
    await outboxDrained();
    expect((await verify(held!.token)).sid).toBe(session.claims.sid);
  });

  it('ログアウト of one device on ログイン中のデバイス: a token for that session only', async () => {
    const userId = await member('bcl00003');
    const phone = await loggedIn(userId);
    const pc = await loggedIn(userId);
    expect(phone.claims.sid).not.toBe(pc.claims.sid);
    await pc.browser.go(`${t.url}/account`);
    const phoneSession = await t.idp.sql.one<{ uid: string; grant_id: string }>(
      `select uid, payload->'authorizations'->$2->>'grantId' as grant_id from oidc_payload where model = 'Session' and id = $1`,
      [phone.browser.cookie('kosmo.session')!.value, TEST_CLIENT.id],
    );
    expect(phoneSession!.grant_id).toEqual(expect.any(String));
    const page = await pc.browser.go(`${t.url}/account/login-methods`);
    const done = await pc.browser.submit(page, `/account/sessions/${phoneSession!.uid}/logout`, {});
    expect(done.html).toContain('選択したデバイスからログアウトしました。');
    const [token] = await receiver.waitFor(1);
    await outboxDrained();
    expect(receiver.received).toHaveLength(1);
    expect(await verify(token!.token)).toMatchObject({ sub: phone.claims.sub, sid: phone.claims.sid });
    // The portal's grant of that session went with it, and every token under it, as at the provider's own logout.
    expect(await t.idp.sql.one(`select 1 from oidc_payload where grant_id = $1 or (model = 'Grant' and id = $1)`, [phoneSession!.grant_id])).toBeUndefined();
    await expect(oidc.refreshTokenGrant(phone.rp.configuration, phone.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('パスワードの更新 with 「全てのデバイスからサインアウトする」: a token for every other session, none for this one', async () => {
    const userId = await member('bcl00004');
    const here = await loggedIn(userId);
    const second = await loggedIn(userId);
    const third = await loggedIn(userId);
    await here.browser.go(`${t.url}/account`);
    const form = await here.browser.go(`${t.url}/account/password`);
    const done = await here.browser.submit(form, '/account/password', {
      password: 'Changed-pass-4',
      password_confirmation: 'Changed-pass-4',
      sign_out_others: 'on',
    });
    expect(done.url).toBe(`${t.url}/account/login-methods?done=password`);
    const got = await receiver.waitFor(2);
    await outboxDrained();
    expect(receiver.received).toHaveLength(2);
    const sids = (await Promise.all(got.map((r) => verify(r.token)))).map((c) => c.sid).sort();
    expect(sids).toEqual([second.claims.sid, third.claims.sid].sort());
  });

  it('パスワードの更新 without signing out elsewhere sends nothing', async () => {
    const userId = await member('bcl00005');
    const here = await loggedIn(userId);
    await loggedIn(userId);
    await here.browser.go(`${t.url}/account`);
    const form = await here.browser.go(`${t.url}/account/password`);
    await here.browser.submit(form, '/account/password', { password: 'Changed-pass-5', password_confirmation: 'Changed-pass-5' });
    await outboxDrained();
    expect(receiver.received).toHaveLength(0);
  });

  it('a password reset through the mailed link: a token for every session of the member', async () => {
    const userId = await member('bcl00006');
    const first = await loggedIn(userId);
    const second = await loggedIn(userId);
    const forgot = new BrowserClient();
    const loginPage = await forgot.go((await first.rp.authorizationRequest()).url, { stopAt: isPortal });
    const form = await forgot.go(new URL(/href="([^"]*forgot-password)"/.exec(loginPage.html)![1]!, loginPage.url).toString());
    await forgot.submit(form, '/forgot-password', { user_id: userId });
    const mail = await t.smtp.waitFor((m) => m.to.includes(`${userId}@example.jp`) && m.links.some((l) => l.includes('/recovery/password/reset/')));
    const reset = await forgot.go(mail.links.find((l) => l.includes('/recovery/password/reset/'))!);
    const done = await forgot.submit(reset, '/recovery/password/reset/', { password: 'Reset-pass-006', password_confirmation: 'Reset-pass-006' });
    expect(done.html).toContain('パスワードを更新しました');
    const got = await receiver.waitFor(2);
    await outboxDrained();
    const sids = (await Promise.all(got.map((r) => verify(r.token)))).map((c) => c.sid).sort();
    expect(sids).toEqual([first.claims.sid, second.claims.sid].sort());
  });

  it('`member reset-mfa` (an administrator, from the CLI): a token for every session of the member', async () => {
    const userId = await member('bcl00007');
    const session = await loggedIn(userId);
    const reset = await resetMemberMfa({ sql: t.idp.sql, config: t.config }, { userId });
    expect(reset.exitCode).toBe(0);
    const [token] = await receiver.waitFor(1);
    expect(await verify(token!.token)).toMatchObject({ sub: session.claims.sub, sid: session.claims.sid });
  });

  it('a portal that does not answer: retried with growing waits, then given up, each failure one log line, one outcome and one count', async () => {
    const deliveries = async (outcome: string) =>
      (await metricsRegistry.getSingleMetric('kosmo_backchannel_logout_deliveries_total')!.get()).values.find(
        (v) => v.labels.society === 'kosmo' && v.labels.outcome === outcome,
      )?.value ?? 0;
    const before = { failed: await deliveries('failed'), gaveUp: await deliveries('gave_up') };
    const userId = await member('bcl00008');
    const memberId = await memberIdOf(userId);
    const session = await loggedIn(userId);
    receiver.answer(503);
    expect((await logOutAtProvider(session)).status).toBe(303);
    await receiver.waitFor(3);
    for (let i = 0; i < 50 && outcomes.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    expect(outcomes).toEqual(['failed', 'failed', 'gave_up']);
    expect({ failed: (await deliveries('failed')) - before.failed, gaveUp: (await deliveries('gave_up')) - before.gaveUp }).toEqual({ failed: 2, gaveUp: 1 });
    const failures = logLines.filter((l) => l.event === 'backchannel_logout.failed');
    expect(failures.map((l) => [l.attempt, l.gaveUp, l.retryInSeconds])).toEqual([
      [1, false, 0.2],
      [2, false, 0.4],
      [3, true, null],
    ]);
    expect(failures[0]).toMatchObject({ society: 'kosmo', client: TEST_CLIENT.id });
    expect(String(failures[0]!.error)).toContain('503');
    // No token and no member in the log.
    expect(JSON.stringify(failures)).not.toContain(receiver.received[0]!.token);
    expect(JSON.stringify(failures)).not.toContain(memberId);
    const row = await t.idp.sql.one<{ attempts: number; gave_up_at: Date | null; last_error: string }>(
      'select attempts, gave_up_at, last_error from backchannel_logout where account_id = $1',
      [memberId],
    );
    expect(row!.attempts).toBe(3);
    expect(row!.gave_up_at).not.toBeNull();
    // Bounded: no fourth try.
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.received).toHaveLength(3);
  });

  it('a portal that answers again after failures gets its token', async () => {
    const userId = await member('bcl00009');
    const session = await loggedIn(userId);
    receiver.answer(500);
    await logOutAtProvider(session);
    await receiver.waitFor(1);
    receiver.answer(200);
    const got = await receiver.waitFor(2);
    await outboxDrained();
    expect(outcomes).toEqual(['failed', 'delivered']);
    expect((await verify(got[1]!.token)).sid).toBe(session.claims.sid);
  });
});

describe('back-channel logout to a private address that no setting allows (request forgery)', () => {
  let t: TestIdp;
  let receiver: LogoutReceiver;
  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    t = await startTestIdp({
      idpOptions: { backchannelPolicy: { pollSeconds: 0.5, firstDelaySeconds: 60, maxAttempts: 3 } },
      configure: (config) => {
        config.clients.find((c) => c.client_id === TEST_CLIENT.id)!.backchannel_logout_uri = receiver.url;
        // As in production without PORTAL_PRIVATE_HOSTS.
        config.production = true;
      },
    });
    await t.addMember({ userId: 'bclssrf01' }, { password: 'Backchannel-1', onboarded: true });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('refuses to post the token to localhost, and says why', async () => {
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'bclssrf01', 'Backchannel-1');
    const tokens = await rp.exchange(after.url, request);
    const confirm = await browser.go(oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token! }).toString(), { stopAt: isPortal });
    const done = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: isPortal });
    expect(done.html).toContain('ログアウトしました');
    let row: { last_error: string | null; attempts: number } | undefined;
    for (let i = 0; i < 50 && !row?.last_error; i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = await t.idp.sql.one('select last_error, attempts from backchannel_logout');
    }
    expect(row!.last_error).toContain('special-use IP address');
    expect(receiver.received).toHaveLength(0);
  });
});

describe('back-channel logout at another society (sakura: its issuer, its keys, its outbox)', () => {
  const SAKURA_PORTAL = { id: 'test-portal', secret: 'sakura-portal-secret-0123456789', redirect: 'http://localhost:3998/callback' };
  const atPortal = (u: string) => u.startsWith('http://localhost:3998/');
  let t: MailedTestIdp;
  let receiver: LogoutReceiver;
  let sakuraIssuer: string;
  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    t = await startMailedTestIdp({
      idpOptions: { backchannelPolicy: { pollSeconds: 0.5 } },
      configure: (config) => {
        config.societies
          .find((s) => s.id === 'sakura')!
          .clients.push(
            registerClient({
              client_id: SAKURA_PORTAL.id,
              client_secret: SAKURA_PORTAL.secret,
              redirect_uris: [SAKURA_PORTAL.redirect],
              post_logout_redirect_uris: ['http://localhost:3998/'],
              scope: 'openid offline_access profile email',
              backchannel_logout_uri: receiver.url,
              backchannel_logout_session_required: true,
            }),
          );
      },
    });
    sakuraIssuer = `${t.url}/sakura`;
    await t.addMember(
      { userId: 'bclsaku01', email: 'bclsaku01@sakura.example.jp' },
      { password: 'Sakura-back-1', onboarded: true, factor: 'email', society: 'sakura' },
    );
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("signs the token with sakura's keys and names sakura's issuer", async () => {
    const configuration = await oidc.discovery(new URL(sakuraIssuer), SAKURA_PORTAL.id, undefined, oidc.ClientSecretBasic(SAKURA_PORTAL.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: SAKURA_PORTAL.redirect,
      scope: 'openid',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const browser = new BrowserClient();
    const loginPage = await browser.go(url.toString(), { stopAt: atPortal });
    const codePage = await browser.submit(loginPage, '/login', { user_id: 'bclsaku01', password: 'Sakura-back-1' }, { stopAt: atPortal });
    const mail = await t.smtp.waitFor((m) => m.to.includes('bclsaku01@sakura.example.jp'));
    const callback = await browser.submit(codePage, '/factor', { code: mailedCode(mail.text) }, { stopAt: atPortal });
    const tokens = await oidc.authorizationCodeGrant(configuration, new URL(callback.url), { pkceCodeVerifier: verifier, expectedState: state });
    const claims = tokens.claims()!;

    const confirm = await browser.go(oidc.buildEndSessionUrl(configuration, { id_token_hint: tokens.id_token! }).toString(), { stopAt: atPortal });
    const done = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, { stopAt: atPortal });
    expect(done.html).toContain('ログアウトしました');
    const [token] = await receiver.waitFor(1);
    const payload = await verifiedLogoutToken(token!.token, sakuraIssuer, SAKURA_PORTAL.id);
    expect(payload).toMatchObject({ iss: sakuraIssuer, sub: claims.sub, sid: claims.sid });
    // Not kosmo's: its keys do not verify it.
    await expect(verifiedLogoutToken(token!.token, t.url, SAKURA_PORTAL.id)).rejects.toThrow();
  });
});
