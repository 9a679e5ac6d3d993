import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, isPortal, BrowserClient } from '../support/idp.js';

const HOW_THE_FIRST_PASSWORD_IS_MADE = '初回ログインのパスワードは「記号+番号+生年月日」です。';
const WHERE_THE_USER_ID_IS = '健康保険組合からのID・パスワード通知を参照ください。';

/** Issue 10, item 2: recovery before the first login is no dead end, and says nothing about accounts. */
describe('members who have never logged in, at the login and recovery pages', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
    // As on launch day: the society's address is on file but not confirmed.
    await t.addMember({ userId: 'newcomer1', email: 'newcomer@example.jp', birthdate: '1980-12-01' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function loginScreen() {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    return { browser, page };
  }

  it('the login page and both recovery pages say where the user ID is and how the first password is made', async () => {
    const { browser, page } = await loginScreen();
    const pages = [
      page,
      await browser.go(`${t.url}/recovery/password`),
      await browser.go(`${t.url}/recovery/user-id`),
      await browser.go(new URL(/href="([^"]*forgot-password)"/.exec(page.html)![1]!, page.url).toString()),
    ];
    for (const p of pages) {
      expect(p.status).toBe(200);
      expect(p.html).toContain(HOW_THE_FIRST_PASSWORD_IS_MADE);
      expect(p.html).toContain('パスワードに 12345678919801201 と入力');
      expect(p.html).toContain(WHERE_THE_USER_ID_IS);
    }
    // The recovery pages add that no mail reaches an unconfirmed address.
    for (const p of pages.slice(1)) expect(p.html).toContain('メールアドレスの確認が済んでいないため、この手続きのメールはお送りできません。');
  });

  it('forgot-password answers "if a confirmed address is registered", and sends nothing to an unconfirmed one', async () => {
    const { browser, page } = await loginScreen();
    const form = await browser.go(new URL(/href="([^"]*forgot-password)"/.exec(page.html)![1]!, page.url).toString());
    const answer = await browser.submit(form, '/forgot-password', { user_id: 'newcomer1' });
    expect(answer.html).toContain('入力されたユーザIDに確認済みのメールアドレスが登録されている場合は、そのアドレスにメールを送信しました。');
    expect(answer.html).toContain(HOW_THE_FIRST_PASSWORD_IS_MADE);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.smtp.messages.filter((m) => m.to.includes('newcomer@example.jp'))).toHaveLength(0);
  });

  it('forgot-user-id answers "if this address is registered and confirmed", never claiming a mail went out', async () => {
    const form = await new BrowserClient().go(`${t.url}/recovery/user-id`);
    const browser = new BrowserClient();
    const page = await browser.go(`${t.url}/recovery/user-id`);
    const answer = await browser.submit(page, '/recovery/user-id', { birthdate: '19801201', email: 'newcomer@example.jp' });
    expect(form.status).toBe(200);
    expect(answer.html).toContain(
      'このメールアドレスが確認済みのアドレスとして登録され、生年月日が一致する場合は、以下のメールアドレスにメールを送信しました。',
    );
    expect(answer.html).toContain(HOW_THE_FIRST_PASSWORD_IS_MADE);
    expect(answer.html).not.toMatch(/<div class="alert alert--info" role="status">以下のメールアドレスにメールを送信しました。/);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.smtp.messages.filter((m) => m.to.includes('newcomer@example.jp'))).toHaveLength(0);
  });
});
