import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, isPortal, passwordAtPortal } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { mailedCode, secretOnSetupPage } from '../support/factors.js';
import { totpCodeAt } from '../../src/factors/totp/codes.js';
import { resetMemberMfa } from '../../src/admin/member-reset-mfa.js';

/**
 * The password alone never enrols a device (issue 17, item 6): after `member reset-mfa`, or a first
 * login interrupted before its factor setup, the member proves the confirmed address with a mailed
 * code before setting one up. A first login that confirmed the address in its own steps goes on.
 */
describe('a device set up after the first login needs the confirmed address first', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const PASSWORD = 'Address-pass-1';
  const codeMailedTo = async (email: string) => mailedCode((await t.smtp.waitFor((m) => m.to.includes(email) && /\d{6}/.test(m.text))).text);

  it('asks for a mailed code after 初期化, counts a wrong one, and sets the app up only after the right one', async () => {
    await t.addMember({ userId: 'address01', email: 'address01@example.jp' }, { password: PASSWORD, onboarded: true, totpDevices: ['会社用'] });
    expect((await resetMemberMfa({ sql: t.idp.sql, config: t.config }, { userId: 'address01' })).data).toEqual({ removed: 1 });
    t.smtp.clear();
    const { browser, rp, request, page } = await passwordAtPortal(t.url, 'address01', PASSWORD);
    expect(new URL(page.url).pathname).toMatch(/\/factor\/address$/);
    expect(page.html).toContain('新しい認証方法を登録する前に、ご本人であることを確認します。');
    expect(page.html).not.toContain('secret-key');
    // The setup is not reachable around the code.
    const around = await browser.go(page.url.replace(/\/factor\/address$/, '/factor/setup'));
    expect(new URL(around.url).pathname).toMatch(/\/factor\/address$/);

    const code = await codeMailedTo('address01@example.jp');
    const wrong = await browser.submit(page, '/factor/address', { code: code === '000000' ? '111111' : '000000' });
    expect(wrong.status).toBe(401);
    expect(pageErrors(wrong.html)[0]).toContain('ワンタイムパスワードが正しくありません');
    expect((await t.idp.sql.one<{ failed_logins: number }>(`select failed_logins from member where user_id = 'address01'`))!.failed_logins).toBe(1);

    const setup = await browser.submit(wrong, '/factor/address', { code });
    expect(setup.html).toContain('ワンタイムパスワードの設定');
    const secret = secretOnSetupPage(setup.html);
    const done = await browser.submit(
      setup,
      '/factor/setup',
      { code: await totpCodeAt(secret, Date.now() / 1000), device_name: '新しい端末' },
      { stopAt: isPortal },
    );
    // Not a first login: straight back to the portal.
    expect(isPortal(done.url)).toBe(true);
    const claims = (await rp.exchange(done.url, request)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'email', 'otp', 'mfa']);
    expect(claims.acr).toBe('urn:kosmo:acr:mfa');
    // The new device is told to the confirmed address.
    await t.smtp.waitFor((m) => m.to.includes('address01@example.jp') && m.text.includes('多要素認証のデバイスが追加されました'));
  });

  it('asks a first login resumed at the factor setup for the mailed code, then ends on 「初回ログインが完了しました」', async () => {
    // Every step of the first login done, in an earlier login that stopped before the setup.
    await t.addMember({ userId: 'address02', email: 'address02@example.jp' }, { password: PASSWORD, onboarded: true, totpDevices: [] });
    await t.idp.sql.run(`update member set last_login_at = null where user_id = 'address02'`);
    t.smtp.clear();
    const { browser, page } = await passwordAtPortal(t.url, 'address02', PASSWORD);
    expect(new URL(page.url).pathname).toMatch(/\/factor\/address$/);
    const setup = await browser.submit(page, '/factor/address', { code: await codeMailedTo('address02@example.jp') });
    const secret = secretOnSetupPage(setup.html);
    const complete = await browser.submit(
      setup,
      '/factor/setup',
      { code: await totpCodeAt(secret, Date.now() / 1000), device_name: '個人用' },
      { stopAt: isPortal },
    );
    expect(complete.html).toContain('<h1>初回ログインが完了しました</h1>');
  });

  it('does not ask a member without a confirmed address (nothing to prove it with), nor for the mailed-code method itself', async () => {
    await t.addMember({ userId: 'address03' }, { password: PASSWORD, onboarded: true, totpDevices: [] });
    const noAddress = await passwordAtPortal(t.url, 'address03', PASSWORD);
    expect(new URL(noAddress.page.url).pathname).toMatch(/\/factor\/setup$/);
    await t.addMember({ userId: 'address04', email: 'address04@example.jp' }, { password: PASSWORD, onboarded: true, factor: 'email' });
    const byMail = await passwordAtPortal(t.url, 'address04', PASSWORD);
    expect(new URL(byMail.page.url).pathname).toMatch(/\/factor\/setup$/);
  });
});
