import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, isPortal, completeTotp, BrowserClient, type Page } from '../support/idp.js';
import { findForm, pageErrors } from '../support/browser-client.js';
import { mailedCode, secretOnSetupPage, TotpApp } from '../support/factors.js';
import { timeStepAt } from '../../src/factors/totp/codes.js';

/**
 * Email codes alone never suffice for a change that could take the account over (issue 17, item 1):
 * changing the address, adding or removing a device, choosing the login method, issuing recovery
 * codes. A member who holds an authenticator app or a passkey must have proved one of them in this
 * session, and a device added from a weaker session is worth no more than that session.
 */
describe('changes that need more than an email code', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const PASSWORD = 'Strong-pass-01';

  /** The mailed code of a login, entered on its /factor page. */
  async function enterMailedCode(browser: BrowserClient, page: Page, email: string): Promise<Page> {
    const mail = await t.smtp.waitFor((m) => m.to.includes(email) && /\d{6}/.test(m.text));
    t.smtp.clear();
    return browser.submit(page, 'factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
  }

  async function loginWith(userId: string, email: string, via: 'email' | 'totp') {
    await t.idp.sql.run('update member set chosen_factor = $2 where user_id = $1', [userId, via]);
    t.smtp.clear();
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const page = await browser.submit(
      await browser.go(request.url, { stopAt: isPortal }),
      '/login',
      { user_id: userId, password: PASSWORD },
      { stopAt: isPortal },
    );
    const back = via === 'totp' ? await completeTotp(browser, page, userId) : await enterMailedCode(browser, page, email);
    expect(isPortal(back.url)).toBe(true);
    // The member's own choice is back: the next login asks for the mailed code again.
    await t.idp.sql.run('update member set chosen_factor = $2 where user_id = $1', [userId, 'email']);
    return { browser, claims: (await rp.exchange(back.url, request)).claims()! };
  }

  /** A POST of the console with this browser's CSRF token (as a page of it would send). */
  async function consolePost(browser: BrowserClient, path: string, form: Record<string, string>): Promise<Page> {
    const profile = await browser.go(`${t.url}/account`);
    const { hidden } = findForm(profile.html, '/account');
    return browser.go(`${t.url}${path}`, { form: { _csrf: hidden._csrf!, ...form } });
  }

  const stepUpLink = (html: string) => /href="(\/account\/step-up\?[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');

  it('sends a GET of the address change through a login with the app (not the mailed code), then shows it', async () => {
    await t.addMember({ userId: 'strong001', email: 'strong001@example.jp' }, { password: PASSWORD, onboarded: true });
    const { browser } = await loginWith('strong001', 'strong001@example.jp', 'email');
    const reauth = await browser.go(`${t.url}/account/email`);
    expect(reauth.url).toContain('/interaction/');
    const factor = await browser.submit(reauth, '/login', { user_id: 'strong001', password: PASSWORD });
    // The member's chosen method is the mailed code, but this login asks for the app.
    expect(factor.html).toContain('name="device"');
    expect(t.smtp.messages.some((m) => m.to.includes('strong001@example.jp'))).toBe(false);
    const email = await completeTotp(browser, factor, 'strong001');
    expect(new URL(email.url).pathname).toBe('/account/email');
    expect(email.status).toBe(200);
    const sent = await browser.submit(email, '/account/email', { email: 'strong.new@example.jp' });
    expect(sent.html).toContain('確認メールを送信しました');
  });

  it('refuses the address change, a removal, a new device, a method change and recovery codes to an email-code session', async () => {
    await t.addMember({ userId: 'strong002', email: 'strong002@example.jp' }, { password: PASSWORD, onboarded: true });
    const { browser } = await loginWith('strong002', 'strong002@example.jp', 'email');
    const memberId = (await t.idp.sql.one<{ id: string }>(`select id from member where user_id = 'strong002'`))!.id;
    const deviceId = (await t.idp.sql.one<{ id: string }>(`select id from credential where member_id = $1 and kind = 'totp' limit 1`, [memberId]))!.id;
    const refusals: [string, Record<string, string>, string][] = [
      ['/account/email', { email: 'thief@example.jp' }, 'メールアドレスの変更には'],
      [`/account/credentials/${deviceId}/delete`, {}, '認証アプリや生体認証の削除には'],
      // (a) of the attack: the attacker's own app, chosen as the login method.
      ['/account/factors/totp/setup?choose=1', { code: '123456', device_name: '攻撃者' }, '認証アプリや生体認証の追加には'],
      ['/account', { locale: 'ja', user_id: 'strong002', method: 'totp' }, '認証方法の変更には'],
      ['/account/recovery-codes', {}, 'リカバリーコードの発行には'],
    ];
    for (const [path, form, message] of refusals) {
      const refused = await consolePost(browser, path, form);
      expect([path, refused.status]).toEqual([path, 403]);
      expect(pageErrors(refused.html)[0]).toContain(message);
      // The way on: a login with the app, back to the page.
      expect(stepUpLink(refused.html)).toMatch(/^\/account\/step-up\?return=%2Faccount/);
    }
    // A GET of a device setup goes to that login instead of showing the setup.
    expect((await browser.go(`${t.url}/account/factors/passkey/setup`)).url).toContain('/interaction/');
    const row = await t.idp.sql.one<{ chosen_factor: string; email: string; devices: string; codes: string }>(
      `select chosen_factor, email, (select count(*) from credential c where c.member_id = m.id and c.kind in ('totp', 'passkey')) as devices,
        (select count(*) from recovery_code r where r.member_id = m.id) as codes from member m where id = $1`,
      [memberId],
    );
    expect(row).toEqual({ chosen_factor: 'email', email: 'strong002@example.jp', devices: '3', codes: '0' });
    expect(t.smtp.messages.some((m) => m.to.includes('thief@example.jp'))).toBe(false);
  });

  it('counts a device added from an email-code session as that session: its logins reach acr email, and a notice is mailed', async () => {
    // (b) of the attack: a member with no app or passkey; the device added from the mailed code's session.
    await t.addMember({ userId: 'strong003', email: 'strong003@example.jp' }, { password: PASSWORD, onboarded: true, factor: 'email' });
    const { browser } = await loginWith('strong003', 'strong003@example.jp', 'email');
    t.smtp.clear();
    const setup = await browser.go(`${t.url}/account/factors/totp/setup?choose=1`);
    expect(setup.status).toBe(200);
    const secret = secretOnSetupPage(setup.html);
    const app = new TotpApp(secret, timeStepAt(Date.now() / 1000) - 2);
    const done = await browser.submit(setup, '/account/factors/totp/setup?choose=1', { code: await app.nextCode(), device_name: '新しい端末' });
    expect(new URL(done.url).pathname).toBe('/account');
    const device = await t.idp.sql.one<{ id: string; trust_acr: string }>(
      `select c.id, c.trust_acr from credential c join member m on m.id = c.member_id where m.user_id = 'strong003' and c.kind = 'totp'`,
    );
    expect(device!.trust_acr).toBe('urn:kosmo:acr:email');
    // Both the new device and the new login method are told to the confirmed address.
    const notices = async () =>
      (
        await Promise.all([
          t.smtp.waitFor((m) => m.to.includes('strong003@example.jp') && m.text.includes('多要素認証のデバイスが追加されました')),
          t.smtp.waitFor((m) => m.to.includes('strong003@example.jp') && m.text.includes('ログイン時の認証方法が変更されました')),
        ])
      ).length;
    expect(await notices()).toBe(2);
    // Recovery codes issued from that session, likewise (a code is otherwise worth an app: acr mfa).
    expect((await consolePost(browser, '/account/recovery-codes', {})).html).toContain('リカバリーコードを発行しました');
    expect(await t.idp.sql.rows(`select distinct r.trust_acr from recovery_code r join member m on m.id = r.member_id where m.user_id = 'strong003'`)).toEqual([
      { trust_acr: 'urn:kosmo:acr:email' },
    ]);

    // A login with that device: one-time password proved, but no stronger than the mailed code it came from.
    t.smtp.clear();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const fresh = new BrowserClient();
    const code = await fresh.submit(
      await fresh.go(request.url, { stopAt: isPortal }),
      '/login',
      { user_id: 'strong003', password: PASSWORD },
      { stopAt: isPortal },
    );
    const back = await fresh.submit(code, '/factor', { device: device!.id, code: await app.nextCode() }, { stopAt: isPortal });
    expect(isPortal(back.url)).toBe(true);
    const claims = (await rp.exchange(back.url, request)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:kosmo:acr:email');
    // The member's other devices see it too: every console session lists what was added lately.
    const methods = await fresh.go(`${t.url}/account/login-methods`);
    expect(methods.html).toContain('最近、次の認証デバイスが追加されました。');
    expect(methods.html).toContain('認証アプリ「新しい端末」');
  });
});
