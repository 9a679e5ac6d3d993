import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import * as oidc from 'openid-client';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient } from '../support/idp.js';
import { pageErrors, withoutRequestDetails as stable, type Page } from '../support/browser-client.js';
import { deriveInitialPassword } from '../../src/members/initial-password.js';

const SENT = '詳細な手順を記載したメールをすぐに受信してください。';

describe('recovery by email', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
    await t.addMember(
      { userId: 'forgot001', email: 'forgot@example.jp', name: '忘れ 太郎', birthdate: '1979-08-22' },
      { password: 'Old-pass-001', onboarded: true },
    );
    await t.addMember({ userId: 'unverif01', email: 'unverified@example.jp', birthdate: '1979-08-22' }, { password: 'Old-pass-002' });
    await t.addMember({ userId: 'initial01', email: 'initial@example.jp', symbol: '12', number: '3456789', birthdate: '1980-12-01' }, { onboarded: true });
    await t.addMember({ userId: 'locked001', email: 'locked@example.jp' }, { password: 'Old-pass-003', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    t.smtp.clear();
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
    while (t.smtp.messages.filter((m) => m.to.includes(address)).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(t.smtp.messages.filter((m) => m.to.includes(address))).toHaveLength(count);
  };
  const noMailFor = async (address: string) => {
    await new Promise((r) => setTimeout(r, 300));
    expect(t.smtp.messages.filter((m) => m.to.includes(address))).toHaveLength(0);
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
    const mail = await t.smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    expect(mail.from).toContain('no-reply@kosmo-web.jp');
    const link = mail.links.find((l) => l.includes('/recovery/password/reset/'))!;
    expect(mail.html).toContain(link.replace(/&/g, '&amp;'));

    const browser = new BrowserClient();
    const form = await browser.go(link);
    expect(form.html).toContain('パスワード更新');
    // The link works after a policy error: nothing was used up.
    const weak = await browser.submit(form, '/recovery/password/reset/', { password: 'short', password_confirmation: 'short' });
    expect(pageErrors(weak.html)).toEqual(['パスワードは8文字以上で入力してください。']);
    const done = await browser.submit(weak, '/recovery/password/reset/', { password: 'New-pass-001', password_confirmation: 'New-pass-001' });
    expect(done.html).toContain('パスワードを更新しました');

    // The same form submitted again (a second tab, a double click): the link is used up.
    const twice = await browser.submit(weak, '/recovery/password/reset/', { password: 'New-pass-002', password_confirmation: 'New-pass-002' });
    expect(twice.status).toBe(410);
    expect(twice.html).toContain('このリンクは使用できません');
    const again = await new BrowserClient().go(link);
    expect(again.status).toBe(410);
    expect(again.html).toContain('このリンクは使用できません');
    expect(again.html).toContain('href="/recovery/password"');

    expect(pageErrors((await loginThroughPortal(t.url, new BrowserClient(), 'forgot001', 'Old-pass-001')).after.html)).toEqual([
      '無効なユーザIDまたはパスワードです。',
    ]);
    expect(isPortal((await loginThroughPortal(t.url, new BrowserClient(), 'forgot001', 'New-pass-001')).after.url)).toBe(true);
    await expect(oidc.refreshTokenGrant(first.rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Only the session of the login just made above is left: every earlier one is gone.
    const left = await t.idp.sql.rows<{ model: string }>(
      `select p.model from oidc_payload p join member m on m.id::text = p.payload->>'accountId' where m.user_id = 'forgot001' and p.model in ('Session', 'Grant', 'RefreshToken', 'AccessToken')`,
    );
    expect(left.filter((r) => r.model === 'RefreshToken')).toHaveLength(0);
    expect(left.filter((r) => r.model === 'Session')).toHaveLength(1);
  });

  it('refuses an expired reset link and explains it', async () => {
    await requestReset('forgot001');
    const mail = await t.smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
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
    await t.smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    await noMailFor('unverified@example.jp');
  });

  it('stops mailing after the per-user limit while the answer stays the same', async () => {
    for (let i = 0; i < 5; i++) await requestReset('forgot001');
    await waitForMails('forgot@example.jp', 5);
    t.smtp.clear();
    const sixth = await requestReset('forgot001');
    expect(sixth.answer.html).toContain(SENT);
    await noMailFor('forgot@example.jp');
  });

  it('shows the policy errors on the reset form', async () => {
    await requestReset('forgot001');
    const mail = await t.smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    const browser = new BrowserClient();
    const form = await browser.go(mail.links.find((l) => l.includes('/reset/'))!);
    const cases: [Record<string, string>, string[]][] = [
      [{ password: '', password_confirmation: '' }, ['パスワードを入力してください。']],
      [{ password: 'forgot001', password_confirmation: 'forgot001' }, ['ユーザIDと同じパスワードは設定できません。']],
      [{ password: 'Valid-pass-9', password_confirmation: 'Other-pass-9' }, ['パスワードとパスワード確認用が一致しません。']],
      [
        { password: 'パスワード12345', password_confirmation: 'パスワード12345' },
        ['パスワードに利用できない文字が含まれています。半角英数字と記号 !"#$%&\'()*~`{+}<>?_^-¥@[;:],./|=\\ が使えます。'],
      ],
      [{ password: 'x'.repeat(65), password_confirmation: 'x'.repeat(65) }, ['パスワードは64文字以内で入力してください。']],
    ];
    for (const [fields, expected] of cases) {
      const answer = await browser.submit(form, '/recovery/password/reset/', fields);
      expect(answer.status).toBe(400);
      expect(pageErrors(answer.html)).toEqual(expected);
    }
  });

  it('replaces the initial derived password too, and drops a pending password step', async () => {
    const initial = deriveInitialPassword({ insuranceSymbol: '12', insuranceNumber: '3456789', birthdate: '1980-12-01' });
    await t.idp.sql.run(`update member set pending_steps = '{password}' where user_id = 'initial01'`);
    await requestReset('initial01');
    const mail = await t.smtp.waitFor((m) => m.to.includes('initial@example.jp'));
    const browser = new BrowserClient();
    const form = await browser.go(mail.links.find((l) => l.includes('/reset/'))!);
    const same = await browser.submit(form, '/recovery/password/reset/', { password: initial, password_confirmation: initial });
    expect(pageErrors(same.html)).toEqual(['現在ご使用中のパスワードでは更新できません。別のパスワードを入力してください。']);
    const done = await browser.submit(same, '/recovery/password/reset/', { password: 'Fresh-pass-01', password_confirmation: 'Fresh-pass-01' });
    expect(done.html).toContain('パスワードを更新しました');
    const row = await t.idp.sql.one<{ pending_steps: string[] }>(`select pending_steps from member where user_id = 'initial01'`);
    expect(row!.pending_steps).toEqual([]);
    expect(pageErrors((await loginThroughPortal(t.url, new BrowserClient(), 'initial01', initial)).after.html)).toEqual([
      '無効なユーザIDまたはパスワードです。',
    ]);
    expect(isPortal((await loginThroughPortal(t.url, new BrowserClient(), 'initial01', 'Fresh-pass-01')).after.url)).toBe(true);
    const events = await t.idp.sql.rows<{ type: string }>(
      `select type from member_event e join member m on m.id = e.member_id where m.user_id = 'initial01' order by e.created_at`,
    );
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['recovery.password_link_sent', 'password.changed']));
  });

  it('clears failed logins and lifts even a permanent lock (issue 11: the member proved control of the address)', async () => {
    await t.idp.sql.run(`update member set failed_logins = 3, locked_permanently = true where user_id = 'locked001'`);
    await requestReset('locked001');
    const mail = await t.smtp.waitFor((m) => m.to.includes('locked@example.jp'));
    const browser = new BrowserClient();
    const form = await browser.go(mail.links.find((l) => l.includes('/reset/'))!);
    await browser.submit(form, '/recovery/password/reset/', { password: 'Fresh-pass-02', password_confirmation: 'Fresh-pass-02' });
    const row = await t.idp.sql.one<{ failed_logins: number; locked_permanently: boolean }>(
      `select failed_logins, locked_permanently from member where user_id = 'locked001'`,
    );
    expect(row).toEqual({ failed_logins: 0, locked_permanently: false });
  });

  it("does not use the link on GET and refuses a POST without the form's CSRF token", async () => {
    await requestReset('forgot001');
    const mail = await t.smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
    const link = mail.links.find((l) => l.includes('/reset/'))!;
    const scanner = new BrowserClient();
    expect((await scanner.go(link)).status).toBe(200);
    expect((await scanner.go(link)).status).toBe(200);
    const forged = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'password=Evil-pass-01&password_confirmation=Evil-pass-01',
      redirect: 'manual',
    });
    expect(forged.status).toBe(400);
    expect((await new BrowserClient().go(link)).status).toBe(200);
    expect((await fetch(`${t.url}/recovery/password/reset/not-a-token`)).status).toBe(410);
  });

  it('never fails on a tampered form body', async () => {
    for (const path of ['/recovery/password', '/recovery/user-id', '/recovery/password/reset/abcdefghijklmnopqrstuvwxyz']) {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `user_id[]=a&user_id[]=b&email[x]=1&password[]=1&birthdate=${'9'.repeat(500)}`,
        redirect: 'manual',
      });
      expect(res.status).toBeLessThan(500);
    }
  });

  it('opens the recovery pages inside a login when given its uid', async () => {
    const { browser, page } = await loginScreen();
    const uid = /\/interaction\/([^/"]+)\/login/.exec(page.html)![1]!;
    const form = await browser.go(`${t.url}/recovery/password?uid=${uid}`);
    expect(form.url).toContain(`/interaction/${uid}/forgot-password`);
    expect(form.html).toContain(`href="/interaction/${uid}"`);
    const answer = await browser.submit(form, '/forgot-password', { user_id: 'nobody0042' });
    expect(answer.html).toContain(SENT);
    expect(answer.html).toContain(`action="/interaction/${uid}/login"`);
    const userIdForm = await browser.go(`${t.url}/recovery/user-id?uid=${uid}`);
    expect(userIdForm.url).toContain(`/interaction/${uid}/forgot-user-id`);
    expect(userIdForm.html).toContain('←ログインに戻る');
  });

  it('says so after too many requests from one address, and stops mailing', async () => {
    const browser = new BrowserClient();
    const form = await browser.go(`${t.url}/recovery/user-id`);
    for (let i = 0; i < 30; i++) {
      const ok = await browser.submit(form, '/recovery/user-id', { birthdate: '19790822', email: `nobody${i}@example.jp` });
      expect(ok.status).toBe(200);
    }
    const limited = await browser.submit(form, '/recovery/user-id', { birthdate: '19790822', email: 'forgot@example.jp' });
    expect(limited.status).toBe(429);
    expect(pageErrors(limited.html)).toEqual(['手続きの回数が上限に達しました。しばらく時間をおいてから再度お試しください。']);
    const pw = await browser.submit(await browser.go(`${t.url}/recovery/password`), '/recovery/password', { user_id: 'forgot001' });
    expect(pw.status).toBe(429);
    await noMailFor('forgot@example.jp');
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
      const mail = await t.smtp.waitFor((m) => m.to.includes('forgot@example.jp'));
      expect(mail.text).toContain('forgot001');
      expect(mail.html).toContain('forgot001');
    });

    it('answers a non-matching birth date or address the same way, without a mail', async () => {
      const match = await requestUserId('19790822', 'forgot@example.jp');
      await waitForMails('forgot@example.jp', 1);
      t.smtp.clear();
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
      expect(pageErrors(answer.html)).toEqual([
        '生年月日は半角数字8桁（例:19790822）で入力してください。',
        '無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。',
      ]);
      expect(answer.html).toContain('value="not-an-address"');
    });

    it('does not mail an address that is not confirmed, and answers the same', async () => {
      const match = await requestUserId('19790822', 'forgot@example.jp');
      const unverified = await requestUserId('19790822', 'unverified@example.jp');
      expect(unverified.status).toBe(match.status);
      expect(stable(unverified.html).replace('unverified@example.jp', 'X')).toBe(stable(match.html).replace('forgot@example.jp', 'X'));
      await noMailFor('unverified@example.jp');
    });

    it('stops mailing an address after the limit while the answer stays the same', async () => {
      for (let i = 0; i < 5; i++) await requestUserId('19790822', 'forgot@example.jp');
      await waitForMails('forgot@example.jp', 5);
      t.smtp.clear();
      const sixth = await requestUserId('19790822', 'forgot@example.jp');
      expect(sixth.status).toBe(200);
      expect(sixth.html).toContain('あなたのメールアドレス: forgot@example.jp');
      await noMailFor('forgot@example.jp');
    });

    it('asks for both fields when they are empty', async () => {
      const answer = await requestUserId('', '');
      expect(pageErrors(answer.html)).toEqual(['生年月日を入力してください。', 'メールアドレスを入力してください。']);
      const impossible = await requestUserId('19790231', 'forgot@example.jp');
      expect(pageErrors(impossible.html)).toEqual(['生年月日は半角数字8桁（例:19790822）で入力してください。']);
      expect(impossible.html).toContain('value="19790231"');
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
