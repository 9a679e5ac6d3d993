import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, loginThroughPortal, BrowserClient } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { totpCodeAt } from '../../src/factors/totp/codes.js';

/** 「設定」 on ログイン方法: the factor's own setup, as at the first login, with its event and notice. */
describe('adding an authenticator app from the console, and choosing a method not yet registered (FAQ Q18)', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sets up a second device with its own name, lists it, and then lets the first one be deleted', async () => {
    await t.addMember({ userId: 'adddev001', email: 'adddev001@example.jp' }, { password: 'Add-device-01', onboarded: true });
    const browser = new BrowserClient();
    await loginThroughPortal(t.url, browser, 'adddev001', 'Add-device-01');
    const methods = await browser.go(`${t.url}/account/login-methods`);
    expect(methods.html).toContain('href="/account/factors/totp/setup"');
    const setup = await browser.go(`${t.url}/account/factors/totp/setup`);
    const secret = /<code>([A-Z2-7 ]+)<\/code>/.exec(setup.html)![1]!.replace(/ /g, '');
    expect(
      pageErrors((await browser.submit(setup, '/account/factors/totp/setup', { code: '000000', device_name: '予備タブレット' })).html).length,
    ).toBeGreaterThan(0);
    t.smtp.clear();
    const added = await browser.submit(setup, '/account/factors/totp/setup', {
      code: await totpCodeAt(secret, Date.now() / 1000),
      device_name: '予備タブレット',
    });
    expect(added.url).toBe(`${t.url}/account/login-methods?done=added`);
    expect(added.html).toContain('予備タブレット');
    await t.smtp.waitFor((m) => m.to.includes('adddev001@example.jp') && m.text.includes('多要素認証のデバイスが追加されました'));
    const { id } = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['adddev001']))!;
    const events = await t.idp.sql.rows<{ type: string }>('select type from member_event where member_id = $1', [id]);
    expect(events.map((e) => e.type)).toContain('factor.totp_added');
    // Two devices of the chosen method: the first may go now.
    const first = added.html.split('<li class="credential">').find((li) => li.includes('/delete') && !li.includes('予備タブレット'))!;
    const confirm = await browser.go(new URL(/href="(\/account\/credentials\/[^"]+\/delete)"/.exec(first)![1]!, t.url).toString());
    const removed = await browser.submit(confirm, '/delete', {});
    expect(removed.url).toBe(`${t.url}/account/login-methods?done=removed`);
    expect(removed.html).toContain('予備タブレット');
  });

  it('sets it up at once and makes it the login method only when the setup is done', async () => {
    await t.addMember({ userId: 'choose001', email: 'choose001@example.jp' }, { password: 'Choose-pass-1', onboarded: true });
    const browser = new BrowserClient();
    await loginThroughPortal(t.url, browser, 'choose001', 'Choose-pass-1');
    const profile = await browser.go(`${t.url}/account`);
    t.smtp.clear();
    const setup = await browser.submit(profile, '/account', { locale: 'ja', user_id: 'choose001', method: 'email' });
    expect(setup.url).toBe(`${t.url}/account/factors/email/setup?choose=1`);
    const chosen = () => t.idp.sql.one<{ chosen_factor: string }>('select chosen_factor from member where user_id = $1', ['choose001']);
    expect((await chosen())!.chosen_factor).toBe('totp');
    const { mailedCode } = await import('../support/factors.js');
    const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('choose001@example.jp') && /\d{6}/.test(m.text))).text);
    const done = await browser.submit(setup, '/account/factors/email/setup', { code });
    expect(done.url).toBe(`${t.url}/account?done=factor_added`);
    expect((await chosen())!.chosen_factor).toBe('email');
  });
});
