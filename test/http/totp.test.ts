import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  startTestIdp,
  testRelyingParty,
  loginThroughPortal,
  isPortal,
  BrowserClient,
  totpApp,
  type TestIdp,
  type Page,
  passwordAtPortal,
} from '../support/idp.js';
import { pageErrors, findForm } from '../support/browser-client.js';
import { totpCodeAt } from '../../src/factors/totp/codes.js';

const WRONG = [
  'ワンタイムパスワードが正しくありません。',
  '最新のワンタイムパスワードを入力してください。複数台で設定している方は、選択したデバイスをご確認ください。',
];

describe('TOTP authenticator apps at login', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.lockout = { maxFailures: 3, lockSeconds: 60, lockGrowthFactor: 2, locksBeforePermanent: 3 };
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Authorize -> password -> the ワンタイムパスワードの入力 page. */
  async function toCodePage(userId: string, password: string, extra: Record<string, string> = {}) {
    const { browser, rp, request, page } = await passwordAtPortal(t.url, userId, password, extra);
    expect(new URL(page.url).pathname).toMatch(/\/factor$/);
    return { browser, rp, request, page };
  }
  const codeAt = (userId: string, offsetSeconds: number) => totpCodeAt(totpApp(userId)!.devices[0]!.secret, Date.now() / 1000 + offsetSeconds);
  const failures = async (userId: string) =>
    (await t.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', [userId]))!.failed_logins;
  const submitCode = (browser: BrowserClient, page: Page, fields: Record<string, string>) => browser.submit(page, '/factor', fields, { stopAt: isPortal });

  it('asks for the code after the password, and the ID token says how the member logged in (amr, acr)', async () => {
    await t.addMember({ userId: 'totp00001' }, { password: 'Totp-pass-1', onboarded: true, totpDevices: ['iPhone'] });
    const { browser, rp, request, page } = await toCodePage('totp00001', 'Totp-pass-1');
    expect(page.html).toContain('ワンタイムパスワードの入力');
    expect(page.html).toContain('inputmode="numeric" autocomplete="one-time-code"');
    expect(page.html).toContain('iPhone');
    expect(page.html).not.toContain('type="radio"');
    expect(page.html).toContain('トップページへ');
    const back = await submitCode(browser, page, { code: await totpApp('totp00001')!.nextCode() });
    expect(isPortal(back.url)).toBe(true);
    const claims = (await rp.exchange(back.url, request)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:kosmo:acr:mfa');
    const row = await t.idp.sql.one<{ last_used_at: string | null; last_time_step: string }>(
      `select c.last_used_at, c.last_time_step from credential c join member m on m.id = c.member_id where m.user_id = 'totp00001' and c.kind = 'totp'`,
    );
    expect(row!.last_used_at).not.toBeNull();
  });

  it('accepts one step of clock drift either way and refuses codes further off, counting them', async () => {
    await t.addMember({ userId: 'totp00002' }, { password: 'Totp-pass-2', onboarded: true, totpDevices: ['iPhone'] });
    // As if the device was set up a while ago, so that the step before this one is still unused.
    await t.idp.sql.run(
      `update credential set last_time_step = last_time_step - 10 where member_id = (select id from member where user_id = 'totp00002') and kind = 'totp'`,
    );
    for (const [offset, ok] of [
      [-90, false],
      [90, false],
      [-30, true],
      [30, true],
    ] as const) {
      const { browser, page } = await toCodePage('totp00002', 'Totp-pass-2');
      const answer = await submitCode(browser, page, { code: await codeAt('totp00002', offset) });
      expect(isPortal(answer.url)).toBe(ok);
      if (!ok) expect(pageErrors(answer.html)).toEqual(WRONG);
    }
  });

  it('accepts a code once: the same code again, in another login, is refused', async () => {
    await t.addMember({ userId: 'totp00003' }, { password: 'Totp-pass-3', onboarded: true, totpDevices: ['iPhone'] });
    const code = await totpApp('totp00003')!.nextCode();
    const first = await toCodePage('totp00003', 'Totp-pass-3');
    expect(isPortal((await submitCode(first.browser, first.page, { code })).url)).toBe(true);
    const second = await toCodePage('totp00003', 'Totp-pass-3');
    const replay = await submitCode(second.browser, second.page, { code });
    expect(replay.status).toBe(401);
    expect(pageErrors(replay.html)).toEqual(WRONG);
    expect(await failures('totp00003')).toBe(1);
  });

  it('lets the same code through once when it is sent twice at the same moment', async () => {
    await t.addMember({ userId: 'totp00004' }, { password: 'Totp-pass-4', onboarded: true, totpDevices: ['iPhone'] });
    const code = await totpApp('totp00004')!.nextCode();
    const a = await toCodePage('totp00004', 'Totp-pass-4');
    const b = await toCodePage('totp00004', 'Totp-pass-4');
    const answers = await Promise.all([submitCode(a.browser, a.page, { code }), submitCode(b.browser, b.page, { code })]);
    expect(answers.filter((p) => isPortal(p.url))).toHaveLength(1);
    // The accepted code is in the member's trail once, with the device's name; the other is a wrong try.
    const events = await t.idp.sql.rows<{ type: string; detail: { device?: string } }>(
      `select type, detail from member_event e join member m on m.id = e.member_id where m.user_id = 'totp00004' and type like 'login.totp%' order by e.id`,
    );
    expect(events).toEqual([
      { type: 'login.totp_ok', detail: { device: 'iPhone' } },
      { type: 'login.totp_wrong', detail: expect.anything() },
    ]);
  });

  it('lets a member with several devices choose one by name, and checks the code against that device', async () => {
    await t.addMember({ userId: 'totp00005' }, { password: 'Totp-pass-5', onboarded: true, totpDevices: ['会社用', '個人用'] });
    const [work, personal] = totpApp('totp00005')!.devices as [
      NonNullable<ReturnType<typeof totpApp>>['devices'][0],
      NonNullable<ReturnType<typeof totpApp>>['devices'][0],
    ];
    const { browser, page } = await toCodePage('totp00005', 'Totp-pass-5');
    expect(page.html).toContain('デバイスの選択');
    expect(page.html.match(/type="radio" name="device"/g)).toHaveLength(2);
    expect(page.html).toContain('会社用');
    expect(page.html).toContain('個人用');
    // The personal phone's code with the work phone chosen: wrong, and the page keeps the choice.
    const wrongDevice = await submitCode(browser, page, { device: work.credentialId!, code: await totpCodeAt(personal.secret, Date.now() / 1000 + 30) });
    expect(pageErrors(wrongDevice.html)).toEqual(WRONG);
    expect(wrongDevice.html).toContain(`value="${work.credentialId}" checked`);
    const noChoice = await submitCode(browser, wrongDevice, { code: '123456' });
    expect(pageErrors(noChoice.html)).toEqual(['デバイスを選択してください。']);
    const back = await submitCode(browser, noChoice, { device: personal.credentialId!, code: await personal.nextCode() });
    expect(isPortal(back.url)).toBe(true);
    // Another member's device is not a choice: naming it opens nothing, the page asks for a device.
    await t.addMember({ userId: 'totp00007' }, { password: 'Totp-pass-7', onboarded: true, totpDevices: ['iPhone'] });
    const other = await toCodePage('totp00007', 'Totp-pass-7');
    const foreign = await submitCode(other.browser, other.page, { device: work.credentialId!, code: await work.nextCode() });
    expect(isPortal(foreign.url)).toBe(false);
    expect(pageErrors(foreign.html)).toEqual(['デバイスを選択してください。']);
  });

  it('counts wrong codes toward the account lockout, and the right password again does not reset the count', async () => {
    await t.addMember({ userId: 'totp00006' }, { password: 'Totp-pass-6', onboarded: true, totpDevices: ['iPhone'] });
    const first = await toCodePage('totp00006', 'Totp-pass-6');
    const wrong1 = await submitCode(first.browser, first.page, { code: '000000' });
    await submitCode(first.browser, wrong1, { code: '000001' });
    expect(await failures('totp00006')).toBe(2);
    const again = await toCodePage('totp00006', 'Totp-pass-6');
    expect(await failures('totp00006')).toBe(2);
    const locked = await submitCode(again.browser, again.page, { code: '000002' });
    expect(pageErrors(locked.html)[0]).toMatch(/^アカウントがロックされているため、ログインできません。/);
    expect(locked.html).toContain('name="password"');
    // While locked, even the right password and code do not get in.
    const login = await new BrowserClient().go((await (await testRelyingParty(t.url)).authorizationRequest()).url, { stopAt: isPortal });
    expect(pageErrors(login.html)).toEqual([]);
    const events = await t.idp.sql.rows<{ type: string }>(
      `select type from member_event e join member m on m.id = e.member_id where m.user_id = 'totp00006' order by e.id`,
    );
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['login.totp_wrong', 'login.locked']));
  });

  it('takes an empty or hostile code as a wrong entry on the same page, never a 500', async () => {
    await t.addMember({ userId: 'totp00008' }, { password: 'Totp-pass-8', onboarded: true, totpDevices: ['iPhone'] });
    const { browser, page } = await toCodePage('totp00008', 'Totp-pass-8');
    const empty = await submitCode(browser, page, { code: '' });
    expect(empty.status).toBe(400);
    expect(pageErrors(empty.html)).toEqual(['ワンタイムパスワードを入力してください。']);
    for (const code of ['\u0000123456', '\ud800\ud800', '9'.repeat(20000), '１２３４５６']) {
      const answer = await submitCode(browser, empty, { code });
      expect(answer.status).toBeLessThan(500);
    }
    const form = findForm(empty.html, '/factor');
    const arrays = await browser.request(new URL(form.action, empty.url).toString(), { form: { ...form.hidden, 'code[]': '1' } });
    expect(arrays.status).toBeLessThan(500);
  });

  it('gives a portal asking max_age a fresh second factor, and acr_values above the session a new login', async () => {
    await t.addMember({ userId: 'totp00009' }, { password: 'Totp-pass-9', onboarded: true });
    // A session exists in this browser: max_age=0 sends the member through the password and the code again.
    const browser = new BrowserClient();
    const first = await loginThroughPortal(t.url, browser, 'totp00009', 'Totp-pass-9');
    expect(isPortal(first.after.url)).toBe(true);
    const silent = await browser.go((await first.rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(isPortal(silent.url)).toBe(true);
    const fresh = await browser.go((await first.rp.authorizationRequest({ max_age: '0' })).url, { stopAt: isPortal });
    expect(fresh.html).toContain('name="password"');
    const stronger = await browser.go((await first.rp.authorizationRequest({ acr_values: 'urn:kosmo:acr:phr' })).url, { stopAt: isPortal });
    expect(stronger.html).toContain('name="password"');
    const sameLevel = await browser.go((await first.rp.authorizationRequest({ acr_values: 'urn:kosmo:acr:mfa' })).url, { stopAt: isPortal });
    expect(isPortal(sameLevel.url)).toBe(true);
    const discovery = (await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as { acr_values_supported: string[] };
    expect(discovery.acr_values_supported).toEqual(['urn:kosmo:acr:pwd', 'urn:kosmo:acr:email', 'urn:kosmo:acr:mfa', 'urn:kosmo:acr:phr']);
  });
});
