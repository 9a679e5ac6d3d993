import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, isPortal, type TestIdp, passwordAtPortal } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { secretOnSetupPage, TotpApp } from '../support/factors.js';
import { timeStepAt, totpCodeAt } from '../../src/factors/totp/codes.js';
import { showMember } from '../../src/admin/member-show.js';
import { resetMemberMfa } from '../../src/admin/member-reset-mfa.js';

describe("setting up a TOTP app inside the login, and the administrator's reset", () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  /** A member who chose the OTP app but has no device yet (a first login, or after 初期化). */
  async function memberWithoutDevice(userId: string, password: string) {
    await t.addMember({ userId }, { password, onboarded: true, totpDevices: [] });
  }
  async function login(userId: string, password: string) {
    return passwordAtPortal(t.url, userId, password);
  }

  it("shows the manual's setup screen: the apps, our own QR code of an otpauth URI, the key under 「スキャンできませんか?」", async () => {
    await memberWithoutDevice('setup0001', 'Setup-pass-1');
    const { browser, page } = await login('setup0001', 'Setup-pass-1');
    expect(new URL(page.url).pathname).toMatch(/\/factor\/setup$/);
    for (const text of [
      'ワンタイムパスワードの設定',
      'アカウントを有効にするにはワンタイムパスワードのセットアップが必要です。',
      'Google Authenticator',
      'Microsoft Authenticator',
      'FreeOTP',
      'スキャンできませんか?',
      'デバイス名',
      '実行',
    ]) {
      expect(page.html).toContain(text);
    }
    expect(page.html).toMatch(/<svg class="qr" role="img" aria-label="ワンタイムパスワード設定用のQRコード"[^>]*viewBox/);
    expect(page.html).toContain('inputmode="numeric" autocomplete="one-time-code"');
    const secret = secretOnSetupPage(page.html);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // The app names it as the manual shows it: the society's member site, then the user ID.
    expect(page.html).toContain('発行者: コスモ健康保険組合加入者ページ / アカウント名: setup0001');
    // A reload shows the same secret (the QR code the app may already have scanned).
    expect(secretOnSetupPage((await browser.go(page.url)).html)).toBe(secret);
  });

  it("answers a wrong code with the manual's words without counting it, asks for a device name, then finishes the login", async () => {
    await memberWithoutDevice('setup0002', 'Setup-pass-2');
    const { browser, rp, request, page } = await login('setup0002', 'Setup-pass-2');
    const secret = secretOnSetupPage(page.html);
    const wrong = await browser.submit(page, '/factor/setup', { code: '000000', device_name: '会社用' });
    expect(wrong.status).toBe(400);
    expect(pageErrors(wrong.html)).toEqual([
      '認証コードが異なります。',
      'ワンタイムパスワードは30秒ごとに切り替わります。切り替わった直後のワンタイムパスワードを入力してください。',
    ]);
    expect(wrong.html).toContain('value="会社用"');
    const noName = await browser.submit(wrong, '/factor/setup', { code: await totpCodeAt(secret, Date.now() / 1000), device_name: ' \u200b ' });
    expect(pageErrors(noName.html)).toEqual(['デバイス名を入力してください。']);
    const failures = await t.idp.sql.one<{ failed_logins: number }>(`select failed_logins from member where user_id = 'setup0002'`);
    expect(failures!.failed_logins).toBe(0);
    const done = await browser.submit(
      noName,
      '/factor/setup',
      { code: await totpCodeAt(secret, Date.now() / 1000), device_name: '会社用' },
      { stopAt: isPortal },
    );
    expect(isPortal(done.url)).toBe(true);
    const claims = (await rp.exchange(done.url, request)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    // The secret is sealed at rest, never stored as typed.
    const stored = await t.idp.sql.one<{ secret: string }>(
      `select c.secret from credential c join member m on m.id = c.member_id where m.user_id = 'setup0002' and c.kind = 'totp'`,
    );
    expect(stored!.secret).toMatch(/^v2\.[A-Za-z0-9_-]{8}\./);
    expect(stored!.secret).not.toContain(secret);
  });

  it("lists the member's devices for an administrator, and 初期化 makes the next login set a device up again", async () => {
    await t.addMember({ userId: 'setup0003' }, { password: 'Setup-pass-3', onboarded: true, totpDevices: ['会社用', '個人用'] });
    const shown = await showMember({ sql: t.idp.sql, config: t.config }, { userId: 'SETUP0003' });
    expect(shown.data!.factors.map((f) => [f.kind, f.label])).toEqual([
      ['totp', '会社用'],
      ['totp', '個人用'],
    ]);
    expect(shown.output.join('\n')).toMatch(/TOTP app \(OTPアプリ\) "会社用" {2}created \d{4}-\d\d-\d\d \d\d:\d\d.*, last used /);

    const reset = await resetMemberMfa({ sql: t.idp.sql, config: t.config }, { userId: 'setup0003' });
    expect(reset.data).toEqual({ removed: 2 });
    expect((await showMember({ sql: t.idp.sql, config: t.config }, { userId: 'setup0003' })).output.join('\n')).toContain('second factors: none set up');
    const events = await t.idp.sql.rows<{ type: string }>(
      `select type from member_event e join member m on m.id = e.member_id where m.user_id = 'setup0003' order by e.id desc limit 1`,
    );
    expect(events[0]!.type).toBe('admin.mfa_reset');

    const { browser, page } = await login('setup0003', 'Setup-pass-3');
    expect(new URL(page.url).pathname).toMatch(/\/factor\/setup$/);
    const secret = secretOnSetupPage(page.html);
    const app = new TotpApp(secret, timeStepAt(Date.now() / 1000));
    const done = await browser.submit(
      page,
      '/factor/setup',
      { code: await totpCodeAt(secret, Date.now() / 1000), device_name: '新しいiPhone' },
      { stopAt: isPortal },
    );
    expect(isPortal(done.url)).toBe(true);
    // And the login after that asks the new device's code, with no choice left to make.
    const next = await login('setup0003', 'Setup-pass-3');
    expect(next.page.html).toContain('新しいiPhone');
    expect(next.page.html).not.toContain('会社用');
    const back = await next.browser.submit(next.page, '/factor', { code: await app.nextCode() }, { stopAt: isPortal });
    expect(isPortal(back.url)).toBe(true);
  });
});
