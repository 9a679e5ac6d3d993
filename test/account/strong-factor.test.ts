import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, isPortal, completeTotp, BrowserClient } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { mailedCode } from '../support/factors.js';

/**
 * Email codes alone never suffice to change the address or remove a stronger factor: a member who
 * holds an authenticator app must have proved it in this session.
 */
describe('changes that need more than an email code', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => { await t?.close(); });

  async function loginWith(userId: string, email: string, via: 'email' | 'totp') {
    await t.idp.sql.run('update member set chosen_factor = $2 where user_id = $1', [userId, via]);
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.submit(await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal }), '/login', { user_id: userId, password: 'Strong-pass-01' }, { stopAt: isPortal });
    if (via === 'totp') await completeTotp(browser, page, userId);
    else {
      const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes(email) && /\d{6}/.test(m.text))).text);
      expect(isPortal((await browser.submit(page, 'factor', { code }, { stopAt: isPortal })).url)).toBe(true);
    }
    return browser;
  }

  it('refuses an address change and a device removal after a login with an email code, allows them after the app', async () => {
    await t.addMember({ userId: 'strong001', email: 'strong001@example.jp' }, { password: 'Strong-pass-01', onboarded: true });
    t.smtp.clear();
    const byEmail = await loginWith('strong001', 'strong001@example.jp', 'email');
    const email = await byEmail.go(`${t.url}/account/email`);
    expect(email.status).toBe(403);
    expect(pageErrors(email.html)[0]).toContain('認証アプリまたは生体認証での本人確認が必要です');
    const refused = await byEmail.submit(email, '/account/email', { email: 'thief@example.jp' });
    expect(refused.status).toBe(403);
    const methods = await byEmail.go(`${t.url}/account/login-methods`);
    const deleteUrl = new URL(/href="(\/account\/credentials\/[^"]+\/delete)"/.exec(methods.html)![1]!, t.url).toString();
    expect((await byEmail.go(deleteUrl)).status).toBe(403);
    expect(t.smtp.messages.some((m) => m.to.includes('thief@example.jp'))).toBe(false);

    const byApp = await loginWith('strong001', 'strong001@example.jp', 'totp');
    const allowed = await byApp.go(`${t.url}/account/email`);
    expect(allowed.status).toBe(200);
    const sent = await byApp.submit(allowed, '/account/email', { email: 'strong.new@example.jp' });
    expect(sent.html).toContain('確認メールを送信しました');
  });
});
