import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { pageErrors, type Page } from '../support/browser-client.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp-capture.js';

const SENT = '詳細な手順を記載したメールをすぐに受信してください。';

/** The page without what differs per request, to compare two answers. */
function stable(html: string): string {
  return html.replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID').replace(/value="[A-Za-z0-9_-]{30,}"/g, 'value="TOKEN"');
}

describe('recovery by email', () => {
  let t: TestIdp;
  let smtp: SmtpCapture;
  beforeAll(async () => {
    smtp = await startSmtpCapture();
    t = await startTestIdp({ env: { SMTP_URL: smtp.url } });
    await t.addMember({ userId: 'forgot001', email: 'forgot@example.jp', name: '忘れ 太郎', birthdate: '1979-08-22' }, { password: 'Old-pass-001', onboarded: true });
    await t.addMember({ userId: 'unverif01', email: 'unverified@example.jp' }, { password: 'Old-pass-002' });
  });
  afterAll(async () => { await t.close(); await smtp.close(); });
  beforeEach(async () => {
    smtp.clear();
    await t.idp.sql.run('delete from rate_limit');
  });

  async function loginScreen() {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    return { browser, page };
  }
  async function requestReset(userId: string): Promise<{ browser: BrowserClient; answer: Page }> {
    const { browser, page } = await loginScreen();
    const form = await browser.go(new URL(/href="([^"]*forgot-password)"/.exec(page.html)![1]!, page.url).toString());
    expect(form.html).toContain('ユーザIDを入力してください。新しいパスワードの設定方法をご案内いたします。');
    const answer = await browser.submit(form, '/forgot-password', { user_id: userId });
    return { browser, answer };
  }
  /** Mails are sent in the background: wait until they have all arrived. */
  const waitForMails = async (address: string, count: number) => {
    const deadline = Date.now() + 10_000;
    while (smtp.messages.filter((m) => m.to.includes(address)).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(smtp.messages.filter((m) => m.to.includes(address))).toHaveLength(count);
  };
  const noMailFor = async (address: string) => {
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.messages.filter((m) => m.to.includes(address))).toHaveLength(0);
  };

  it('links both recovery pages from the login screen', async () => {
    const { page } = await loginScreen();
    expect(page.html).toContain('パスワードを忘れた方はこちら');
    expect(page.html).toContain('ユーザIDを忘れた方はこちら');
  });

  it('mails a single-use 「パスワードをリセット」 link that sets a new password and ends every other session', async () => {
    const first = await loginThroughPortal(t.url, new BrowserClient(), 'forgot001', 'Old-pass-001');
    const tokens = await first.rp.exchange(first.after.url, first.request);

    const { answer } = await requestReset('FORGOT001');
    expect(answer.html).toContain(SENT);
    expect(answer.html).toContain('ログイン状態の保存');
    const mail = await smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    expect(mail.from).toContain('no-reply@kosmo-web.jp');
    const link = mail.links.find((l) => l.includes('/recovery/password/reset/'))!;
    expect(mail.html).toContain(link.replace(/&/g, '&amp;'));

    const browser = new BrowserClient();
    const form = await browser.go(link);
    expect(form.html).toContain('パスワードの更新');
    // The link works after a policy error: nothing was used up.
    const weak = await browser.submit(form, '/recovery/password/reset/', { password: 'short', password_confirmation: 'short' });
    expect(pageErrors(weak.html)).toEqual(['パスワードは8文字以上で入力してください。']);
    const done = await browser.submit(weak, '/recovery/password/reset/', { password: 'New-pass-001', password_confirmation: 'New-pass-001' });
    expect(done.html).toContain('パスワードを更新しました');

    const again = await new BrowserClient().go(link);
    expect(again.status).toBe(410);
    expect(again.html).toContain('このリンクは使用できません');
    expect(again.html).toContain('href="/recovery/password"');

    expect(pageErrors((await loginThroughPortal(t.url, new BrowserClient(), 'forgot001', 'Old-pass-001')).after.html)).toEqual(['無効なユーザIDまたはパスワードです。']);
    expect(isPortal((await loginThroughPortal(t.url, new BrowserClient(), 'forgot001', 'New-pass-001')).after.url)).toBe(true);
    await expect(oidc.refreshTokenGrant(first.rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses an expired reset link and explains it', async () => {
    await requestReset('forgot001');
    const mail = await smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    await t.idp.sql.run(`update password_reset set expires_at = now() - interval '1 second'`);
    const page = await new BrowserClient().go(mail.links.find((l) => l.includes('/reset/'))!);
    expect(page.status).toBe(410);
    expect(page.html).toContain('有効期限(5分)');
  });

  it('answers the same for an unknown user ID and for a member without a confirmed address, and mails neither', async () => {
    const known = await requestReset('forgot001');
    const unknown = await requestReset('nobody0042');
    const unverified = await requestReset('unverif01');
    expect(unknown.answer.status).toBe(known.answer.status);
    expect(stable(unknown.answer.html)).toBe(stable(known.answer.html));
    expect(stable(unverified.answer.html)).toBe(stable(known.answer.html));
    await smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    await noMailFor('unverified@example.jp');
  });

  it('stops mailing after the per-user limit while the answer stays the same', async () => {
    for (let i = 0; i < 5; i++) await requestReset('forgot001');
    await waitForMails('forgot@example.jp', 5);
    smtp.clear();
    const sixth = await requestReset('forgot001');
    expect(sixth.answer.html).toContain(SENT);
    await noMailFor('forgot@example.jp');
  });

  it('shows the policy errors on the reset form', async () => {
    await requestReset('forgot001');
    const mail = await smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    const browser = new BrowserClient();
    const form = await browser.go(mail.links.find((l) => l.includes('/reset/'))!);
    const cases: [Record<string, string>, string[]][] = [
      [{ password: '', password_confirmation: '' }, ['パスワードを入力してください。']],
      [{ password: 'forgot001', password_confirmation: 'forgot001' }, ['ユーザIDと同じパスワードは設定できません。']],
      [{ password: 'Valid-pass-9', password_confirmation: 'Other-pass-9' }, ['パスワードとパスワード確認用が一致しません。']],
      [{ password: 'パスワード12345', password_confirmation: 'パスワード12345' }, ['パスワードに利用できない文字が含まれています。半角英数字と記号 !"#$%&\'()*~`{+}<>?_^-¥@[;:],./|=\\ が使えます。']],
      [{ password: 'x'.repeat(65), password_confirmation: 'x'.repeat(65) }, ['パスワードは64文字以内で入力してください。']],
    ];
    for (const [fields, expected] of cases) {
      const answer = await browser.submit(form, '/recovery/password/reset/', fields);
      expect(answer.status).toBe(400);
      expect(pageErrors(answer.html)).toEqual(expected);
    }
  });

  describe('ユーザIDを忘れた方はこちら', () => {
    async function requestUserId(birthdate: string, email: string) {
      const { browser, page } = await loginScreen();
      const form = await browser.go(new URL(/href="([^"]*forgot-user-id)"/.exec(page.html)![1]!, page.url).toString());
      expect(form.html).toContain('生年月日 (入力例:19790822)');
      return browser.submit(form, '/forgot-user-id', { birthdate, email });
    }

    it('mails the user ID to a matching confirmed address and shows the address entered', async () => {
      const answer = await requestUserId('19790822', 'Forgot@Example.jp');
      expect(answer.html).toContain('以下のメールアドレスにメールを送信しました。');
      expect(answer.html).toContain('あなたのメールアドレス: Forgot@Example.jp');
      const mail = await smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
      expect(mail.text).toContain('forgot001');
      expect(mail.html).toContain('forgot001');
    });

    it('answers a non-matching birth date or address the same way, without a mail', async () => {
      const match = await requestUserId('19790822', 'forgot@example.jp');
      await waitForMails('forgot@example.jp', 1);
      smtp.clear();
      const wrongDate = await requestUserId('19790823', 'forgot@example.jp');
      expect(stable(wrongDate.html)).toBe(stable(match.html));
      const other = await requestUserId('19790822', 'someone@example.jp');
      expect(other.html).toContain('あなたのメールアドレス: someone@example.jp');
      await noMailFor('someone@example.jp');
      await noMailFor('forgot@example.jp');
    });

    it('keeps what was typed and explains a wrong format on the same page', async () => {
      const answer = await requestUserId('1979/8/22x', 'not-an-address');
      expect(answer.status).toBe(400);
      expect(pageErrors(answer.html)).toEqual(['生年月日は半角数字8桁（例:19790822）で入力してください。', '無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。']);
      expect(answer.html).toContain('value="not-an-address"');
    });

    it('escapes the address it shows back', async () => {
      const answer = await requestUserId('19790822', '<b>x</b>@example.jp');
      expect(answer.html).not.toContain('<b>x</b>');
    });
  });

  it('works on its own, from a mail link, without a login under way', async () => {
    const browser = new BrowserClient();
    const form = await browser.go(`${t.url}/recovery/password`);
    const answer = await browser.submit(form, '/recovery/password', { user_id: 'forgot001' });
    expect(answer.html).toContain(SENT);
    // No portal cookie in this browser: the link leads to the first configured portal's login.
    expect(answer.html).toContain(`href="${t.config.clients[0]!.initiate_login_uri}"`);
  });
});
