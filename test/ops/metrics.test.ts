import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import {
  startTestIdp,
  loginThroughPortal,
  passwordAtPortal,
  testRelyingParty,
  isPortal,
  BrowserClient,
  totpApp,
  totpFields,
  TEST_CLIENT,
  type TestIdp,
} from '../support/idp.js';
import { findForm } from '../support/browser-client.js';
import { startManagementServer, type ManagementServer } from '../../src/ops/management.js';
import { createLogger } from '../../src/logger.js';

/** One sample of a Prometheus text exposition: its name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The value of the sample with exactly these labels (0 when absent). */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length,
  );
  return found?.value ?? 0;
}

describe('metrics and probes on the management port', () => {
  let t: TestIdp;
  let management: ManagementServer;
  const scrape = async () => {
    const response = await fetch(`${management.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    return { text, samples: parseExposition(text) };
  };

  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.lockout = { maxFailures: 3, lockSeconds: 60, lockGrowthFactor: 2, locksBeforePermanent: 3 };
      },
    });
    management = await startManagementServer({
      port: 0,
      host: '127.0.0.1',
      log: createLogger('silent'),
      probes: { started: () => true, ready: () => t.idp.ready() },
    });
    await t.addMember({ userId: 'metrics01' }, { password: 'Metrics-pass-1', onboarded: true });
    await t.addMember({ userId: 'metrics02' }, { password: 'Metrics-pass-2', onboarded: true });
  });
  afterAll(async () => {
    await management.close();
    await t.close();
  });

  it('counts logins, wrong passwords, a lockout, refusals while locked, grants and refreshes, by society', async () => {
    const before = (await scrape()).samples;
    const event = (samples: Sample[], name: string, error = '') =>
      sampleValue(samples, 'kosmo_user_events_total', { society: 'kosmo', event: name, error }) -
      sampleValue(before, 'kosmo_user_events_total', { society: 'kosmo', event: name, error });

    // A successful login, its code redeemed, two refreshes, then the rotated-out token replayed.
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'metrics01', 'Metrics-pass-1');
    expect(isPortal(after.url)).toBe(true);
    const tokens = await rp.exchange(after.url, request);
    const refreshed = await oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
    await oidc.refreshTokenGrant(rp.configuration, refreshed.refresh_token!);
    await expect(oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // A wrong authenticator code, then the logout through the confirmation page.
    const browser = new BrowserClient();
    const { page: codePage } = await passwordAtPortal(t.url, 'metrics01', 'Metrics-pass-1', {}, browser);
    const wrongCode = await browser.submit(codePage, '/factor', { ...(await totpFields(totpApp('metrics01')!)), code: '000000' }, { stopAt: isPortal });
    expect(wrongCode.status).toBe(401);
    const endSession = oidc.buildEndSessionUrl(rp.configuration, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: TEST_CLIENT.postLogout });
    const confirm = await browser.go(endSession.toString(), { stopAt: isPortal });
    const form = findForm(confirm.html, '/session/end/confirm');
    expect((await browser.request(new URL(form.action, t.url).toString(), { form: { ...form.hidden, logout: 'yes' } })).status).toBe(303);

    // Three wrong passwords lock metrics02 (maxFailures 3); a fourth attempt, even right, is refused while locked.
    const wrong = async (userId: string, password: string) => {
      const browser = new BrowserClient();
      const page = await browser.go((await (await testRelyingParty(t.url)).authorizationRequest()).url, { stopAt: isPortal });
      return browser.submit(page, '/login', { user_id: userId, password }, { stopAt: isPortal });
    };
    for (const password of ['wrong-1', 'wrong-2', 'wrong-3']) expect((await wrong('metrics02', password)).status).toBe(401);
    expect((await wrong('metrics02', 'Metrics-pass-2')).status).toBe(401);
    // A user ID nobody has.
    expect((await wrong('nobody0001', 'whatever-1')).status).toBe(401);

    const { samples, text } = await scrape();
    expect(event(samples, 'login')).toBe(1);
    expect(event(samples, 'code_to_token')).toBe(1);
    expect(event(samples, 'refresh_token')).toBe(2);
    expect(event(samples, 'refresh_token_error', 'invalid_grant')).toBe(1);
    expect(event(samples, 'login_error', 'invalid_credentials')).toBe(3);
    expect(event(samples, 'lockout')).toBe(1);
    expect(event(samples, 'login_error', 'locked')).toBe(1);
    expect(event(samples, 'login_error', 'user_not_found')).toBe(1);
    expect(event(samples, 'login_error', 'wrong_code')).toBe(1);
    expect(event(samples, 'logout')).toBe(1);

    // One bcrypt comparison per password typed: two right, four wrong (the one refused while locked compares nothing).
    const validations = (outcome: string) =>
      sampleValue(samples, 'kosmo_password_hash_validations_total', { outcome }) - sampleValue(before, 'kosmo_password_hash_validations_total', { outcome });
    expect(validations('valid')).toBe(2);
    expect(validations('invalid')).toBe(4);

    // Requests by route template, with the SLO bucket; never an interaction id, a user ID or a token.
    const loginPosts = samples.filter(
      (s) => s.name === 'http_server_requests_seconds_count' && s.labels.route === '/interaction/:uid/login' && s.labels.method === 'POST',
    );
    expect(loginPosts.map((s) => s.labels.society)).toEqual(loginPosts.map(() => 'kosmo'));
    expect(loginPosts.find((s) => s.labels.status === '401')?.value).toBeGreaterThanOrEqual(5);
    expect(samples.some((s) => s.name === 'http_server_requests_seconds_bucket' && s.labels.route === '/token' && s.labels.le === '0.25')).toBe(true);
    const routes = new Set(samples.filter((s) => s.name === 'http_server_requests_seconds_count').map((s) => s.labels.route));
    expect([...routes].every((r) => r!.startsWith('/') || r!.startsWith('oidc:') || r === 'static' || r === 'unmatched')).toBe(true);
    // The provider's own routes carry their templates too: the resume's interaction id is `:uid`.
    expect(routes).toContain('/auth');
    expect(routes).toContain('/auth/:uid');
    const interactionId = new URL(after.url).searchParams.get('code')!;
    for (const secret of ['metrics01', 'metrics02', 'nobody0001', interactionId, tokens.refresh_token!, tokens.access_token])
      expect(text).not.toContain(secret);
    expect(text).not.toMatch(/route="\/interaction\/[A-Za-z0-9_-]{10,}/);

    // The pool, the process and Node.js.
    for (const name of [
      'kosmo_db_pool_connections_in_use',
      'kosmo_db_pool_connections_idle',
      'kosmo_db_pool_requests_waiting',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(samples.some((s) => s.name === name)).toBe(true);
    }
    expect(text).toContain('# TYPE kosmo_backchannel_logout_deliveries_total counter');
  });

  it('counts the mails sent, by template and outcome', async () => {
    const { samples: before } = await scrape();
    const sent = await t.idp.mail.send({ to: 'nobody@example.jp', template: 'user_id_reminder', locale: 'ja', vars: { name: '試験', userId: 'x' } });
    const { samples } = await scrape();
    // The test provider's relay is unreachable: the mail fails after its retries.
    const outcome = sent.ok ? 'sent' : 'failed';
    expect(
      sampleValue(samples, 'kosmo_mail_sent_total', { society: 'kosmo', template: 'user_id_reminder', outcome }) -
        sampleValue(before, 'kosmo_mail_sent_total', { society: 'kosmo', template: 'user_id_reminder', outcome }),
    ).toBe(1);
  }, 20_000);

  it('serves no /metrics on the public port', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });

  it('answers the three probes, and turns not ready (but alive) while draining', async () => {
    for (const probe of ['/health/live', '/health/started', '/health/ready']) {
      const response = await fetch(`${management.url}${probe}`);
      expect([probe, response.status, await response.json()]).toEqual([probe, 200, { status: 'UP' }]);
    }
    t.idp.drain();
    const ready = await fetch(`${management.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'DOWN', reason: 'shutting down' });
    expect((await fetch(`${t.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${management.url}/health/live`)).status).toBe(200);
    // Still serving what arrives meanwhile, each response closing its connection.
    const page = await fetch(`${t.url}/.well-known/openid-configuration`);
    expect(page.status).toBe(200);
    expect(page.headers.get('connection')).toBe('close');
  });

  it('says started and ready only once the default society is built, and alive before', async () => {
    const starting = await startManagementServer({
      port: 0,
      host: '127.0.0.1',
      log: createLogger('silent'),
      probes: { started: () => false, ready: async () => ({ ready: false, reason: 'starting' }) },
    });
    try {
      const answers = await Promise.all(
        ['/health/live', '/health/started', '/health/ready', '/nothing'].map(async (probe) => {
          const response = await fetch(`${starting.url}${probe}`);
          return [probe, response.status, response.headers.get('cache-control')];
        }),
      );
      expect(answers).toEqual([
        ['/health/live', 200, 'no-store'],
        ['/health/started', 503, 'no-store'],
        ['/health/ready', 503, 'no-store'],
        ['/nothing', 404, 'no-store'],
      ]);
    } finally {
      await starting.close();
    }
  });
});
