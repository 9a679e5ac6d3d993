import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMailedTestIdp, type MailedTestIdp, loginThroughPortal, isPortal, BrowserClient, completeTotp } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';

/** The account console: プロフィール and ログイン方法, signed in through the provider's own session. */
describe('the account console', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function signedIn(userId: string, password = 'Console-pass-1', email = `${userId}@example.jp`, totpDevices?: string[]) {
    await t.addMember({ userId, email, name: '画面 花子' }, { password, onboarded: true, totpDevices });
    const browser = new BrowserClient();
    const { after } = await loginThroughPortal(t.url, browser, userId, password);
    expect(isPortal(after.url)).toBe(true);
    const profile = await browser.go(`${t.url}/account`);
    expect(profile.url).toBe(`${t.url}/account`);
    return { browser, profile };
  }

  const memberRow = (userId: string) =>
    t.idp.sql.one<{ user_id: string; locale: string; chosen_factor: string; email: string }>(
      'select user_id, locale, chosen_factor, email from member where user_id = $1',
      [userId],
    );

  it('asks a browser without a session to log in first, then shows the profile', async () => {
    await t.addMember({ userId: 'console01', email: 'console01@example.jp', name: '画面 花子' }, { password: 'Console-pass-1', onboarded: true });
    const browser = new BrowserClient();
    const loginPage = await browser.go(`${t.url}/account`);
    expect(loginPage.html).toContain('ログイン');
    const profile = await completeTotp(browser, await browser.submit(loginPage, '/login', { user_id: 'console01', password: 'Console-pass-1' }), 'console01');
    expect(profile.url).toBe(`${t.url}/account`);
    for (const text of [
      'プロフィール',
      '言語',
      'ユーザID',
      'メールアドレス',
      'Eメール変更',
      'ユーザー名',
      '画面 花子',
      '仮IDフラグ',
      '認証方法',
      '変更',
      '戻る',
    ]) {
      expect(profile.html).toContain(text);
    }
  });

  it("the profile's 戻る leads back to the portal, not to the profile itself", async () => {
    const { profile } = await signedIn('console10');
    const back = /<a href="([^"]*)" class="btn btn--secondary">戻る<\/a>/.exec(profile.html)?.[1];
    expect(back).toMatch(/^http:\/\/localhost:\d+\/$/);
  });

  it('changes the language at once and the user ID with a recent login; sub stays, a notice is mailed', async () => {
    const { browser, profile } = await signedIn('console02');
    const before = await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['console02']);
    t.smtp.clear();
    const saved = await browser.submit(profile, '/account', { locale: 'en', user_id: 'Console.New2', method: 'totp' });
    expect(saved.html).toContain('Your profile was updated.');
    expect(await memberRow('console.new2')).toMatchObject({ locale: 'en' });
    const after = await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['console.new2']);
    expect(after!.id).toBe(before!.id);
    const notice = await t.smtp.waitFor((m) => m.to.includes('console02@example.jp'));
    expect(notice.text).toContain('Your user ID was changed.');
    const events = await t.idp.sql.rows<{ type: string }>('select type from member_event where member_id = $1 order by id', [before!.id]);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['account.language_changed', 'account.user_id_changed']));
  });

  it('refuses a user ID that breaks the rules or is taken, on the same page', async () => {
    const { browser, profile } = await signedIn('console03');
    await t.addMember({ userId: 'takenid03' });
    expect(pageErrors((await browser.submit(profile, '/account', { locale: 'ja', user_id: 'short', method: 'email' })).html)).toEqual([
      'ユーザIDは8文字以上、13文字以内で入力してください。',
    ]);
    expect(pageErrors((await browser.submit(profile, '/account', { locale: 'ja', user_id: 'TAKENID03', method: 'email' })).html)).toEqual([
      'このユーザIDは既に使用されています。別のユーザIDを入力してください。',
    ]);
    expect(pageErrors((await browser.submit(profile, '/account', { locale: 'xx', user_id: 'console03', method: 'email' })).html)).toEqual([
      '言語を選択してください。',
    ]);
    const noCsrf = await browser.go(`${t.url}/account`, { form: { locale: 'ja', user_id: 'console.x03', method: 'email' } });
    expect(noCsrf.status).toBe(400);
    expect((await memberRow('console03'))!.user_id).toBe('console03');
  });

  it('asks to log in again before a sensitive change when the last login is too old, then applies it', async () => {
    const original = t.config.union.account.reauthSeconds;
    t.config.union.account.reauthSeconds = 1;
    try {
      const { browser, profile } = await signedIn('console04');
      await sleep(1500);
      const reauth = await browser.submit(profile, '/account', { locale: 'ja', user_id: 'console.re04', method: 'totp' });
      expect(reauth.url).toContain('/interaction/');
      expect(reauth.html).toContain('value="console04"');
      expect((await memberRow('console04'))!.user_id).toBe('console04');
      const done = await completeTotp(browser, await browser.submit(reauth, '/login', { user_id: 'console04', password: 'Console-pass-1' }), 'console04');
      expect(done.url).toBe(`${t.url}/account?done=saved`);
      expect(await memberRow('console.re04')).toMatchObject({ chosen_factor: 'totp' });
    } finally {
      t.config.union.account.reauthSeconds = original;
    }
  });

  it('changes the email address only when the new one is confirmed, and tells the old address', async () => {
    const { browser } = await signedIn('console05');
    const form = await browser.go(`${t.url}/account/email`);
    expect(form.html).toContain('メールアドレスの更新');
    await t.addMember({ userId: 'other0005', email: 'used05@example.jp' });
    // An address another member holds is answered like any other (test/account/address-enumeration.test.ts).
    const held = await browser.submit(form, '/account/email', { email: 'used05@example.jp' });
    expect([held.status, pageErrors(held.html)]).toEqual([200, []]);
    expect(held.html).toContain('確認メールを送信しました');
    expect(pageErrors((await browser.submit(form, '/account/email', { email: 'not an address' })).html)).toEqual([
      '無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。',
    ]);
    t.smtp.clear();
    const sent = await browser.submit(form, '/account/email', { email: 'New05@Example.jp' });
    expect(sent.html).toContain('確認メールを送信しました');
    expect((await memberRow('console05'))!.email).toBe('console05@example.jp');
    const mail = await t.smtp.waitFor((m) => m.to.includes('new05@example.jp'));
    const confirm = await browser.go(mail.links.find((l) => l.includes('/verify-email/'))!);
    await browser.submit(confirm, '/verify-email/', {});
    expect((await memberRow('console05'))!.email).toBe('new05@example.jp');
    const notice = await t.smtp.waitFor((m) => m.to.includes('console05@example.jp'));
    expect(notice.text).toContain('メールアドレスが変更されました');
  });

  it('updates the password with the policy, ends the other sessions when asked, and shows the new 作成日', async () => {
    const { browser } = await signedIn('console06');
    const other = new BrowserClient();
    await loginThroughPortal(t.url, other, 'console06', 'Console-pass-1');
    const form = await browser.go(`${t.url}/account/password`);
    expect(form.html).toContain('全てのデバイスからサインアウトする');
    expect(
      pageErrors(
        (await browser.submit(form, '/account/password', { password: 'Console-pass-1', password_confirmation: 'Console-pass-1', sign_out_others: 'on' })).html,
      ),
    ).toContain('現在ご使用中のパスワードでは更新できません。別のパスワードを入力してください。');
    expect(
      pageErrors(
        (await browser.submit(form, '/account/password', { password: 'New-pass-2026', password_confirmation: 'Other-2026', sign_out_others: 'on' })).html,
      ).length,
    ).toBeGreaterThan(0);
    const done = await browser.submit(form, '/account/password', { password: 'New-pass-2026', password_confirmation: 'New-pass-2026', sign_out_others: 'on' });
    expect(done.url).toBe(`${t.url}/account/login-methods?done=password`);
    expect(done.html).toContain('パスワードを更新しました。');
    expect(done.html).toContain('作成日');
    // This browser stays signed in; the other one must log in again.
    expect((await browser.go(`${t.url}/account`)).url).toBe(`${t.url}/account`);
    const otherAgain = await other.go(`${t.url}/account`);
    expect(otherAgain.url).toContain('/interaction/');
    const login = await completeTotp(other, await other.submit(otherAgain, '/login', { user_id: 'console06', password: 'New-pass-2026' }), 'console06');
    expect(login.url).toBe(`${t.url}/account`);
  });

  it('lists the login methods; a device of the chosen method cannot be deleted when it is the last one', async () => {
    // One authenticator device, set up through the TOTP factor, and the TOTP app chosen.
    const { browser } = await signedIn('console07', 'Console-pass-1', 'console07@example.jp', ['会社用']);
    const member = await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['console07']);
    const page = await browser.go(`${t.url}/account/login-methods`);
    for (const text of ['基本認証', 'パスワード', '作成日', '二要素認証', '認証アプリ', '会社用', 'ワンタイムパスワードメール認証は削除できません'])
      expect(page.html).toContain(text);
    // 名前の変更 for the authenticator app, as for passkeys; no 削除 on the last device of the chosen method, but why.
    const device = /href="\/account\/credentials\/([^"/]+)\/rename"/.exec(page.html)?.[1];
    expect(device).toBeDefined();
    expect(page.html).not.toMatch(/\/account\/credentials\/[^"]+\/delete/);
    expect(page.html).toContain('ログイン時に使用している認証方法の最後のデバイスのため、削除できません。');
    const rename = await browser.go(`${t.url}/account/credentials/${device}/rename`);
    expect((await browser.submit(rename, '/rename', { label: '会社のスマホ' })).url).toBe(`${t.url}/account/login-methods?done=renamed`);
    // The refusal stands for a typed URL too.
    const confirm = await browser.go(`${t.url}/account/credentials/${device}/delete`);
    expect(confirm.html).toContain('会社のスマホ');
    expect(confirm.html).toContain('削除する');
    const refused = await browser.submit(confirm, '/delete', {});
    expect(refused.status).toBe(409);
    expect(pageErrors(refused.html)[0]).toContain('先にプロフィールの「認証方法」で別の認証方法を選択してください');
    await t.idp.sql.run(`update member set chosen_factor = 'email' where id = $1`, [member!.id]);
    const removed = await browser.submit(confirm, '/delete', {});
    expect(removed.url).toBe(`${t.url}/account/login-methods?done=removed`);
    expect(removed.html).not.toContain('会社のスマホ');
  });

  it('lists where the member is logged in and logs one device out with its tokens', async () => {
    const phone = new BrowserClient({
      'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
    });
    await t.addMember({ userId: 'console08', email: 'console08@example.jp' }, { password: 'Console-pass-1', onboarded: true });
    const { rp, request, after } = await loginThroughPortal(t.url, phone, 'console08', 'Console-pass-1');
    const tokens = await rp.exchange(after.url, request);
    const pc = new BrowserClient({
      'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    });
    await loginThroughPortal(t.url, pc, 'console08', 'Console-pass-1');
    await pc.go(`${t.url}/account`);
    const page = await pc.go(`${t.url}/account/login-methods`);
    expect(page.html).toContain('ログイン中のデバイス');
    expect(page.html).toContain('Safari (iPhone)');
    expect(page.html).toContain('Chrome (Windows)');
    expect(page.html).toContain('この端末');
    const phoneUid = /action="\/account\/sessions\/([^/]+)\/logout"/g;
    const uids = [...page.html.matchAll(phoneUid)].map((m) => m[1]!);
    expect(uids).toHaveLength(2);
    // The phone's entry is the one not marked この端末: log it out.
    const phoneEntry = page.html.split('<li class="credential">').find((li) => li.includes('Safari (iPhone)'))!;
    const uid = /sessions\/([^/]+)\/logout/.exec(phoneEntry)![1]!;
    const done = await pc.submit(page, `/account/sessions/${uid}/logout`, {});
    expect(done.html).toContain('選択したデバイスからログアウトしました。');
    expect(done.html).not.toContain('Safari (iPhone)');
    // The phone's refresh token ended with its session.
    await expect(import('openid-client').then((oidc) => oidc.refreshTokenGrant(rp.configuration, tokens.refresh_token!))).rejects.toThrow();
    expect((await pc.go(`${t.url}/account`)).url).toBe(`${t.url}/account`);
  });

  it('issues ten recovery codes once, stores only their hashes, and 再発行 makes the old ones stop working', async () => {
    const { browser } = await signedIn('console09');
    const member = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['console09']))!;
    const before = await browser.go(`${t.url}/account/login-methods`);
    expect(before.html).toContain('リカバリーコードはまだ発行されていません。');
    const page = await browser.go(`${t.url}/account/recovery-codes`);
    t.smtp.clear();
    const issued = await browser.submit(page, '/account/recovery-codes', {});
    const codes = [...issued.html.matchAll(/<code>([0-9A-Z-]+)<\/code>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const stored = await t.idp.sql.rows<{ code_hash: string }>('select code_hash from recovery_code where member_id = $1', [member.id]);
    expect(stored).toHaveLength(10);
    for (const row of stored) expect(codes.map((c) => c.replace(/-/g, ''))).not.toContain(row.code_hash);
    await t.smtp.waitFor((m) => m.to.includes('console09@example.jp') && m.text.includes('リカバリーコードが発行されました'));
    expect((await browser.go(`${t.url}/account/login-methods`)).html).toContain('残り10個');

    const { useRecoveryCode } = await import('../../src/members/recovery-codes.js');
    // The same code twice at the same moment works once; typed in lowercase without dashes it is the same code.
    const results = await Promise.all([codes[0]!, codes[0]!.toLowerCase().replace(/-/g, '')].map((c) => useRecoveryCode(t.idp.sql, t.config, member.id, c)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await browser.go(`${t.url}/account/login-methods`)).html).toContain('残り9個');

    const again = await browser.submit(await browser.go(`${t.url}/account/recovery-codes`), '/account/recovery-codes', {});
    const fresh = [...again.html.matchAll(/<code>([0-9A-Z-]+)<\/code>/g)].map((m) => m[1]!);
    expect(await useRecoveryCode(t.idp.sql, t.config, member.id, codes[1]!)).toBeUndefined();
    expect(await useRecoveryCode(t.idp.sql, t.config, member.id, fresh[1]!)).toEqual(expect.any(String));
  });
});
