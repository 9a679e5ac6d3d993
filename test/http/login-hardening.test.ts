import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, isPortal, BrowserClient, completeTotp } from '../support/idp.js';
import { pageErrors, type Page } from '../support/browser-client.js';

/** Issue 11, items 1, 3, 4, 5, 8 (a long confirmed address) and 15, through real HTTP and SMTP. */
describe('login hardening', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp({
      configure: (c) => {
        c.union.lockout = { maxFailures: 3, lockSeconds: 60, lockGrowthFactor: 2, locksBeforePermanent: 3 };
        c.union.loginRateLimit = { perIp: 5, windowSeconds: 60 };
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    t.smtp.clear();
    await t.idp.sql.run('delete from rate_limit');
  });

  async function loginScreen(): Promise<{ browser: BrowserClient; page: Page }> {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    return { browser, page: await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal }) };
  }
  async function attempt(userId: string, password: string) {
    const { browser, page } = await loginScreen();
    const answer = await completeTotp(browser, await browser.submit(page, '/login', { user_id: userId, password }, { stopAt: isPortal }), userId);
    return { status: answer.status, errors: pageErrors(answer.html), portal: isPortal(answer.url) };
  }
  /** Asks for a reset link from the login screen and returns the link from the mail. */
  async function resetLink(userId: string, address: string): Promise<string> {
    const { browser, page } = await loginScreen();
    const form = await browser.go(new URL(/href="([^"]*forgot-password)"/.exec(page.html)![1]!, page.url).toString());
    const answer = await browser.submit(form, '/forgot-password', { user_id: userId });
    expect(answer.status).toBe(200);
    const mail = await t.smtp.waitFor((m) => m.to.includes(address));
    return mail.links.find((l) => l.includes('/recovery/password/reset/'))!;
  }
  async function resetPassword(userId: string, address: string, password: string): Promise<Page> {
    const browser = new BrowserClient();
    const form = await browser.go(await resetLink(userId, address));
    return browser.submit(form, '/recovery/password/reset/', { password, password_confirmation: password });
  }
  const events = async (userId: string, type: string) =>
    Number(
      (await t.idp.sql.one<{ n: string }>('select count(*) as n from member_event e join member m on m.id = e.member_id where m.user_id = $1 and e.type = $2', [
        userId,
        type,
      ]))!.n,
    );

  it('item 1: a password reset ends a login that passed the old password but has not finished', async () => {
    await t.addMember({ userId: 'pend00001', email: 'pend@example.jp' }, { password: 'Old-pass-001', onboarded: true });
    const { browser, page } = await loginScreen();
    // The browser passes the old password and stops before following the redirect.
    const answer = await browser.submit(page, '/login', { user_id: 'pend00001', password: 'Old-pass-001' }, { stopAt: (u) => u.includes('/factor') });
    expect(answer.url).toContain('/factor');
    expect((await resetPassword('pend00001', 'pend@example.jp', 'New-pass-001')).html).toContain('パスワードを更新しました');
    const resumed = await browser.go(answer.url, { stopAt: isPortal });
    expect(isPortal(resumed.url)).toBe(false);
    expect(resumed.status).toBe(401);
    expect(pageErrors(resumed.html)).toEqual(['パスワードが変更されたため、もう一度ログインしてください。']);
    // The new password works; a login begun after the reset finishes.
    expect((await attempt('pend00001', 'New-pass-001')).portal).toBe(true);
  });

  it('item 3: a reset link lifts even the permanent lock, and the policy still locks', async () => {
    await t.addMember({ userId: 'perm00001', email: 'perm@example.jp' }, { password: 'Old-pass-001', onboarded: true });
    await t.idp.sql.run(`update member set lock_count = 2, failed_logins = 2 where user_id = 'perm00001'`);
    await attempt('perm00001', 'wrong');
    expect(await t.idp.sql.one('select locked_permanently from member where user_id = $1', ['perm00001'])).toEqual({ locked_permanently: true });
    expect((await attempt('perm00001', 'Old-pass-001')).portal).toBe(false);
    expect((await resetPassword('perm00001', 'perm@example.jp', 'New-pass-001')).html).toContain('パスワードを更新しました');
    expect((await attempt('perm00001', 'New-pass-001')).portal).toBe(true);
    expect(await t.idp.sql.one('select locked_permanently, lock_count from member where user_id = $1', ['perm00001'])).toEqual({
      locked_permanently: false,
      lock_count: 0,
    });
  });

  it('item 4: successful logins from one address never use up its limit; failures do', async () => {
    // Five authenticator devices: ten codes usable within the same 30 seconds for the eight logins.
    await t.addMember({ userId: 'share0001' }, { password: 'Share-pass-1', onboarded: true, totpDevices: ['端末1', '端末2', '端末3', '端末4', '端末5'] });
    for (let i = 0; i < 8; i++) expect((await attempt('share0001', 'Share-pass-1')).portal).toBe(true);
    for (let i = 0; i < 5; i++) expect((await attempt('share0001', 'wrong')).status).toBe(401);
    await t.idp.sql.run(`update member set failed_logins = 0, lock_count = 0, locked_until = null where user_id = 'share0001'`);
    expect((await attempt('share0001', 'Share-pass-1')).status).toBe(429);
  });

  it("item 5: a password over bcrypt's 72 bytes is refused with the policy message, and cannot be matched by its prefix", async () => {
    await t.addMember({ userId: 'long00001', email: 'long@example.jp' }, { password: 'Old-pass-001', onboarded: true });
    const long = `${'¥'.repeat(36)}Abc1`;
    expect(Buffer.byteLength(long)).toBe(76);
    const refused = await resetPassword('long00001', 'long@example.jp', long);
    expect(refused.status).toBe(400);
    expect(pageErrors(refused.html)).toEqual(['パスワードは64文字以内で入力してください。']);
    // A hash made before the fix from such a password: the first 72 bytes with any ending do not log in.
    await t.idp.sql.run(`update credential set secret = $2 where kind = 'password' and member_id = (select id from member where user_id = $1)`, [
      'long00001',
      await t.idp.hasher.hash(long),
    ]);
    expect((await attempt('long00001', `${'¥'.repeat(36)}XYZ9`)).portal).toBe(false);
  });

  it('item 8: a member whose confirmed address is 250 characters long receives the reset mail', async () => {
    const address = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.jp`;
    expect(address.length).toBeGreaterThanOrEqual(250);
    await t.addMember({ userId: 'addr00001', email: address }, { password: 'Old-pass-001', onboarded: true });
    expect(await resetLink('addr00001', address)).toContain('/recovery/password/reset/');
  });

  it('item 15: fifty simultaneous wrong passwords record one login.locked event for one lock', async () => {
    const limit = t.config.union.loginRateLimit;
    t.config.union.loginRateLimit = { perIp: 1000, windowSeconds: 60 };
    try {
      await t.addMember({ userId: 'race00015' }, { password: 'Right-pass-5', onboarded: true });
      const opened = await Promise.all(Array.from({ length: 50 }, () => loginScreen()));
      const answers = await Promise.all(opened.map(({ browser, page }) => browser.submit(page, '/login', { user_id: 'race00015', password: 'wrong' })));
      expect(answers.every((a) => a.status === 401)).toBe(true);
    } finally {
      t.config.union.loginRateLimit = limit;
    }
    expect(await events('race00015', 'login.locked')).toBe(1);
    expect(await t.idp.sql.one('select lock_count from member where user_id = $1', ['race00015'])).toEqual({ lock_count: 1 });
  });
});
