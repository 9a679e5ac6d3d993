import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, isPortal, BrowserClient } from '../support/idp.js';
import { pageErrors, type Page } from '../support/browser-client.js';

describe('each onboarding step answers bad input on the same page', () => {
  let t: MailedTestIdp;
  let seq = 0;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => t.smtp.clear());

  /** A new provisioned member, logged in with the initial password, at the birth date step. */
  async function newMember(pendingFrom?: string): Promise<{ browser: BrowserClient; page: Page; userId: string; email: string }> {
    seq++;
    const userId = `steps${String(seq).padStart(4, '0')}`;
    const email = `steps${seq}@example.jp`;
    await t.addMember({ userId, symbol: '12', number: String(3000000 + seq), birthdate: '1980-12-01', email });
    if (pendingFrom) {
      const steps = ['birthdate', 'terms', 'email', 'user_id_and_method', 'password'];
      await t.idp.sql.run(`update member set pending_steps = $2, terms_version = $3, email_verified = true where user_id = $1`, [
        userId,
        steps.slice(steps.indexOf(pendingFrom)),
        t.config.terms.version,
      ]);
    }
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const login = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const page = await browser.submit(login, '/login', { user_id: userId, password: `12${3000000 + seq}19801201` }, { stopAt: isPortal });
    return { browser, page, userId, email };
  }

  it('birth date: empty and malformed input get their own messages, and nothing is counted', async () => {
    const { browser, page, userId } = await newMember();
    expect(pageErrors((await browser.submit(page, '/step/birthdate', { birthdate: '' })).html)).toEqual(['生年月日を入力してください。']);
    expect(pageErrors((await browser.submit(page, '/step/birthdate', { birthdate: '1980121' })).html)).toEqual([
      '生年月日は半角数字8桁（例:19790822）で入力してください。',
    ]);
    const row = await t.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', [userId]);
    expect(row!.failed_logins).toBe(0);
    // Full-width digits, as a Japanese keyboard may type them, are accepted.
    const next = await browser.submit(page, '/step/birthdate', { birthdate: '１９８０１２０１' });
    expect(next.html).toContain('同意する');
  });

  it('steps cannot be skipped by posting a later one', async () => {
    const { browser, page } = await newMember();
    const skipped = await browser.go(page.url.replace('/step/birthdate', '/step/password'));
    expect(skipped.html).toContain('生年月日の入力');
  });

  it('email: a failed delivery says so and offers to resend, which then works', async () => {
    const { browser, page } = await newMember('email');
    t.smtp.failNext(3);
    const failed = await browser.submit(page, '/step/email', { email: 'resend@example.jp' });
    expect(failed.status).toBe(503);
    expect(pageErrors(failed.html)).toEqual(['メールを送信できませんでした。しばらく時間をおいてから「メールを再送信」を押してください。']);
    expect(failed.html).toContain('メールを再送信');
    const resent = await browser.submit(failed, '/step/email', { action: 'resend' });
    expect(resent.html).toContain('確認メールを送信しました。');
    const mail = await t.smtp.waitFor((m) => m.to.includes('resend@example.jp'));
    expect(mail.text).toContain('/verify-email/');
  });

  it('email: the link works once, and an older link stops working when a new one is sent', async () => {
    const { browser, page } = await newMember('email');
    await browser.submit(page, '/step/email', { email: 'once@example.jp' });
    const first = (await t.smtp.waitFor((m) => m.to.includes('once@example.jp'))).links.find((l) => l.includes('/verify-email/'))!;
    t.smtp.clear();
    const sent = await browser.go(page.url);
    await browser.submit(sent, '/step/email', { action: 'resend' });
    const second = (await t.smtp.waitFor((m) => m.to.includes('once@example.jp'))).links.find((l) => l.includes('/verify-email/'))!;
    expect(second).not.toBe(first);
    const old = await new BrowserClient().go(first);
    expect(old.status).toBe(410);
    const other = new BrowserClient();
    const confirm = await other.go(second);
    expect((await other.submit(confirm, '/verify-email/', {})).html).toContain('メールアドレスを確認しました');
    // Opened again after it worked: the address is confirmed, which is what the page says.
    const again = await other.go(second);
    expect(again.status).toBe(200);
    expect(again.html).toContain('メールアドレスは確認済みです');
    expect(again.html).not.toContain('このリンクは使用できません');
  });

  it('email: an expired link explains itself', async () => {
    const { browser, page } = await newMember('email');
    await browser.submit(page, '/step/email', { email: 'late@example.jp' });
    const link = (await t.smtp.waitFor((m) => m.to.includes('late@example.jp'))).links.find((l) => l.includes('/verify-email/'))!;
    await t.idp.sql.run(`update email_verification set expires_at = now() - interval '1 second' where email = 'late@example.jp'`);
    const answer = await new BrowserClient().go(link);
    expect(answer.status).toBe(410);
  });

  it('email: the link expires after the configured 30 minutes by default', async () => {
    expect(t.config.union.mail.emailVerificationSeconds).toBe(1800);
    const { browser, page } = await newMember('email');
    await browser.submit(page, '/step/email', { email: 'ttl@example.jp' });
    const row = await t.idp.sql.one<{ minutes: number }>(
      `select round(extract(epoch from expires_at - created_at) / 60)::int as minutes from email_verification where email = 'ttl@example.jp'`,
    );
    expect(row!.minutes).toBe(30);
  });

  it('email: keeping an already confirmed address needs no new mail', async () => {
    const { browser, page, email } = await newMember('email');
    const next = await browser.submit(page, '/step/email', { email });
    expect(next.html).toContain('ユーザIDの設定・認証方法の選択');
  });

  it('user ID: length, characters, taken, and a method are checked; uppercase becomes lowercase', async () => {
    await t.addMember({ userId: 'takenid01' });
    const { browser, page } = await newMember('user_id_and_method');
    const errorsFor = async (fields: Record<string, string>) => pageErrors((await browser.submit(page, '/step/user_id_and_method', fields)).html);
    expect(await errorsFor({ user_id: 'short', method: 'totp' })).toEqual(['ユーザIDは8文字以上、13文字以内で入力してください。']);
    expect(await errorsFor({ user_id: 'much-too-long-id', method: 'totp' })).toEqual(['ユーザIDは8文字以上、13文字以内で入力してください。']);
    expect(await errorsFor({ user_id: 'bad id#1', method: 'totp' })).toEqual([
      'ユーザIDに利用できない文字が含まれています。「利用不可文字一覧を見る」をご確認ください。',
    ]);
    expect(await errorsFor({ user_id: 'ユーザー12345', method: 'totp' })).toEqual([
      'ユーザIDに利用できない文字が含まれています。「利用不可文字一覧を見る」をご確認ください。',
    ]);
    expect(await errorsFor({ user_id: 'TAKENID01', method: 'totp' })).toEqual(['このユーザIDは既に使用されています。別のユーザIDを入力してください。']);
    expect(await errorsFor({ user_id: 'fine.id-01', method: '' })).toEqual(['認証方法を選択してください。']);
    expect(await errorsFor({ user_id: 'fine.id-01', method: 'passkey' })).toEqual(['この端末では生体認証を選択できません。別の認証方法を選択してください。']);
    const answer = await browser.submit(page, '/step/user_id_and_method', { user_id: 'Fine.ID-01', method: 'passkey', platform_authenticator: 'yes' });
    expect(answer.html).toContain('パスワードの変更');
    const row = await t.idp.sql.one<{ user_id: string; chosen_factor: string; temporary_id: boolean }>(
      `select user_id, chosen_factor, temporary_id from member where user_id = 'fine.id-01'`,
    );
    expect(row).toEqual({ user_id: 'fine.id-01', chosen_factor: 'passkey', temporary_id: false });
  });

  it('user ID: keeping the ID the union issued is allowed, even if it breaks the rules for new IDs', async () => {
    const { browser, page, userId } = await newMember('user_id_and_method');
    const answer = await browser.submit(page, '/step/user_id_and_method', { user_id: userId.toUpperCase(), method: 'email' });
    expect(answer.html).toContain('パスワードの変更');
  });

  it('user ID: only the methods the union allows are accepted', async () => {
    const original = t.config.union.authMethods;
    t.config.union.authMethods = ['totp'];
    try {
      const { browser, page } = await newMember('user_id_and_method');
      expect(page.html).not.toContain('value="email"');
      const answer = await browser.submit(page, '/step/user_id_and_method', { user_id: 'allowed.01', method: 'email' });
      expect(pageErrors(answer.html)).toEqual(['認証方法を選択してください。']);
    } finally {
      t.config.union.authMethods = original;
    }
  });

  it('password: one message per broken rule, and the initial password cannot be reused', async () => {
    const { browser, page, userId } = await newMember('password');
    const errorsFor = async (password: string, confirmation = password) =>
      pageErrors((await browser.submit(page, '/step/password', { password, password_confirmation: confirmation })).html);
    expect(await errorsFor('')).toEqual(['パスワードを入力してください。']);
    expect(await errorsFor('Ab1!')).toEqual(['パスワードは8文字以上で入力してください。']);
    expect(await errorsFor(userId)).toEqual(['ユーザIDと同じパスワードは設定できません。']);
    expect(await errorsFor(`12${3000000 + seq}19801201`)).toEqual(['現在ご使用中のパスワードでは更新できません。別のパスワードを入力してください。']);
    expect(await errorsFor('Good-pass-1', 'Good-pass-2')).toEqual(['パスワードとパスワード確認用が一致しません。']);
    // The blocklist (NIST SP 800-63B-4): common passwords, and the member's own words.
    expect(await errorsFor('Password123!')).toEqual(['よく使われていて推測されやすいパスワードは設定できません。別のパスワードを入力してください。']);
    expect(await errorsFor('Taro-19801201')).toEqual(['ユーザID、生年月日、サービス名を含むパスワードは設定できません。別のパスワードを入力してください。']);
    expect(await errorsFor('ab c', 'ab c')).toEqual([
      'パスワードは8文字以上で入力してください。',
      'パスワードに利用できない文字が含まれています。半角英数字と記号 !"#$%&\'()*~`{+}<>?_^-¥@[;:],./|=\\ が使えます。',
    ]);
  });
});
