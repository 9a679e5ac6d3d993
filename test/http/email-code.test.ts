import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, isPortal, type BrowserClient, type Page, passwordAtPortal } from '../support/idp.js';
import { pageErrors, pageNotice } from '../support/browser-client.js';
import { mailedCode } from '../support/factors.js';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';

describe('one-time codes by email, through a real SMTP server', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp({
      configure: (c) => {
        c.union.emailOtp = { codeSeconds: 600, maxAttempts: 3, resendCooldownSeconds: 30, maxMailsPerHour: 10 };
        c.union.lockout = { maxFailures: 8, lockSeconds: 60, lockGrowthFactor: 2, locksBeforePermanent: 3 };
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  /** A member who chose メール認証, with a confirmed address. */
  async function emailMember(userId: string, password: string, email: string) {
    await t.addMember({ userId, email }, { password, onboarded: true, factor: 'email' });
  }
  async function login(userId: string, password: string) {
    return passwordAtPortal(t.url, userId, password);
  }
  const mailsTo = (address: string) => t.smtp.messages.filter((m) => m.to.includes(address));
  const latestCode = (address: string) => mailedCode(mailsTo(address).at(-1)!.text);
  const enter = (browser: BrowserClient, page: Page, code: string) => browser.submit(page, 'factor', { code }, { stopAt: isPortal });
  const resend = (browser: BrowserClient, page: Page) => {
    // The page has two forms to the same place; the second is 「再送信」.
    const at = page.html.lastIndexOf('<form');
    return browser.submit({ ...page, html: page.html.slice(at) }, 'factor', {}, { stopAt: isPortal });
  };
  const failures = async (userId: string) =>
    (await t.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', [userId]))!.failed_logins;
  const expireRateLimits = () => t.idp.sql.run(`update rate_limit set window_ends_at = now() - interval '1 second' where bucket like 'email-send:%'`);

  it('mails six digits from the no-reply sender at the first login, and the code completes the login (amr, acr)', async () => {
    await emailMember('mail00001', 'Mail-pass-1', 'hanako@example.jp');
    const { browser, rp, request, page } = await login('mail00001', 'Mail-pass-1');
    expect(page.html).toContain('メール認証');
    expect(page.html).toContain('ha***@example.jp');
    expect(page.html).toContain('inputmode="numeric" autocomplete="one-time-code"');
    const mail = await t.smtp.waitFor((m) => m.to.includes('hanako@example.jp'));
    expect(mail.from).toBe('no-reply@kosmo-web.jp');
    expect(mail.subject).toContain('ワンタイムパスワード');
    expect(mail.text).toContain('10分');
    // A reload does not mail another code.
    const reloaded = await browser.go(page.url);
    expect(mailsTo('hanako@example.jp')).toHaveLength(1);
    const done = await enter(browser, reloaded, mailedCode(mail.text));
    expect(isPortal(done.url)).toBe(true);
    const claims = (await rp.exchange(done.url, request)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'email', 'mfa']);
    expect(claims.acr).toBe('urn:kosmo:acr:email');
    const stored = await t.idp.sql.rows<{ kind: string }>(
      `select c.kind from credential c join member m on m.id = c.member_id where m.user_id = 'mail00001' and c.kind = 'email'`,
    );
    expect(stored).toHaveLength(1);
    const codes = await t.idp.sql.rows<{ code_hash: string; used_at: string | null }>(
      `select code_hash, used_at from one_time_code o join member m on m.id = o.member_id where m.user_id = 'mail00001'`,
    );
    expect(codes).toHaveLength(1);
    expect(codes[0]!.code_hash).not.toContain(mailedCode(mail.text));
    expect(codes[0]!.used_at).not.toBeNull();
  });

  it('accepts a code once, also when two logins send it at the same moment', async () => {
    await emailMember('mail00002', 'Mail-pass-2', 'twice@example.jp');
    const a = await login('mail00002', 'Mail-pass-2');
    // The second login finds the code still live and mails nothing new.
    const b = await login('mail00002', 'Mail-pass-2');
    expect(mailsTo('twice@example.jp')).toHaveLength(1);
    const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('twice@example.jp'))).text);
    const answers = await Promise.all([enter(a.browser, a.page, code), enter(b.browser, b.page, code)]);
    expect(answers.filter((p) => isPortal(p.url))).toHaveLength(1);
  });

  it('refuses an expired code and tells the member to resend', async () => {
    await emailMember('mail00003', 'Mail-pass-3', 'late@example.jp');
    const { browser, page } = await login('mail00003', 'Mail-pass-3');
    const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('late@example.jp'))).text);
    await t.idp.sql.run(
      `update one_time_code set expires_at = now() - interval '1 second' where member_id = (select id from member where user_id = 'mail00003')`,
    );
    const late = await enter(browser, page, code);
    expect(pageErrors(late.html)).toEqual([
      'ワンタイムパスワードの有効時間が過ぎました。「再送信」を選択して、新しいワンタイムパスワードを受け取ってください。',
    ]);
    expect(isPortal(late.url)).toBe(false);
  });

  it('stops a code after the configured wrong tries; each counts toward the lockout', async () => {
    await emailMember('mail00004', 'Mail-pass-4', 'tries@example.jp');
    const { browser, page } = await login('mail00004', 'Mail-pass-4');
    const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('tries@example.jp'))).text);
    const wrongCode = code === '000000' ? '111111' : '000000';
    const first = await enter(browser, page, wrongCode);
    expect(pageErrors(first.html)).toEqual(['ワンタイムパスワードが正しくありません。']);
    const second = await enter(browser, first, wrongCode);
    const third = await enter(browser, second, wrongCode);
    expect(pageErrors(third.html)).toEqual([
      '入力の誤りが続いたため、このワンタイムパスワードは無効になりました。「再送信」を選択して、新しいワンタイムパスワードを受け取ってください。',
    ]);
    const right = await enter(browser, third, code);
    expect(isPortal(right.url)).toBe(false);
    expect(await failures('mail00004')).toBe(4);
  });

  it('resends only after the cooldown; a new code replaces the old one and does not reset the count', async () => {
    await emailMember('mail00005', 'Mail-pass-5', 'again@example.jp');
    const { browser, page } = await login('mail00005', 'Mail-pass-5');
    const firstCode = mailedCode((await t.smtp.waitFor((m) => m.to.includes('again@example.jp'))).text);
    const wrong = await enter(browser, page, firstCode === '000000' ? '111111' : '000000');
    expect(await failures('mail00005')).toBe(1);
    const tooSoon = await resend(browser, wrong);
    expect(tooSoon.status).toBe(429);
    expect(pageNotice(tooSoon.html)).toMatch(/^再送信は\d+秒後にできます。/);
    expect(pageErrors(tooSoon.html)).toEqual([]);
    expect(mailsTo('again@example.jp')).toHaveLength(1);
    await expireRateLimits();
    const resent = await resend(browser, tooSoon);
    expect(resent.html).toContain('ワンタイムパスワードを再送信しました。');
    await t.smtp.waitFor((m) => m.to.includes('again@example.jp') && mailsTo('again@example.jp').length === 2);
    expect(await failures('mail00005')).toBe(1);
    // The first code no longer works (unless, one time in a million, the new code is the same digits).
    const old = await enter(browser, resent, firstCode);
    if (latestCode('again@example.jp') !== firstCode) expect(pageErrors(old.html)).toEqual(['ワンタイムパスワードが正しくありません。']);
    const done = await enter(browser, old, latestCode('again@example.jp'));
    expect(isPortal(done.url)).toBe(true);
  });

  it('mails a new code to a second login 5 s after the first completed; the spent code is 「使用済み」, and 「再送信」 in that login still waits', async () => {
    await emailMember('mail00007', 'Mail-pass-7', 'back@example.jp');
    const first = await login('mail00007', 'Mail-pass-7');
    const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('back@example.jp'))).text);
    expect(isPortal((await enter(first.browser, first.page, code)).url)).toBe(true);
    await new Promise((r) => setTimeout(r, 5000));
    // A member who logs in at a second portal right after the first: a new login gets its own code,
    // whatever the resend cooldown, and the page says nothing about 「再送信」.
    const again = await login('mail00007', 'Mail-pass-7');
    expect(again.page.status).toBe(200);
    await t.smtp.waitFor(() => mailsTo('back@example.jp').length === 2);
    const newCode = latestCode('back@example.jp');
    expect(pageNotice(again.page.html)).toBeUndefined();
    expect(pageErrors(again.page.html)).toEqual([]);
    expect(again.page.html).not.toContain('role="alert"');
    // A reload sends nothing more.
    const reloaded = await again.browser.go(again.page.url);
    expect(mailsTo('back@example.jp')).toHaveLength(2);
    // The code of the first login is spent: said as such, an error (red, announced, the field marked),
    // and not counted toward the lockout.
    if (newCode !== code) {
      const spent = await enter(again.browser, reloaded, code);
      expect(spent.status).toBe(400);
      expect(pageErrors(spent.html)).toEqual(['このワンタイムパスワードは使用済みです。最新のメールに記載されたワンタイムパスワードを入力してください。']);
      expect(spent.html).toContain('class="alert alert--error" role="alert"');
      expect(spent.html).toContain('aria-invalid="true"');
      expect(await failures('mail00007')).toBe(0);
    }
    // Within this login, 「再送信」 still has its cooldown, as information.
    const tooSoon = await resend(again.browser, reloaded);
    expect(tooSoon.status).toBe(429);
    expect(pageNotice(tooSoon.html)).toMatch(/^再送信は\d+秒後にできます。しばらくお待ちください。$/);
    expect(pageErrors(tooSoon.html)).toEqual([]);
    expect(mailsTo('back@example.jp')).toHaveLength(2);
    expect(isPortal((await enter(again.browser, tooSoon, newCode)).url)).toBe(true);
  });

  it('after ten mails in an hour, says in minutes when 「再送信」 works again, as information', async () => {
    await emailMember('mail00008', 'Mail-pass-8', 'often@example.jp');
    let { browser, page } = await login('mail00008', 'Mail-pass-8');
    for (let sent = 1; sent < 10; sent++) {
      await expireRateLimits();
      page = await resend(browser, page);
      expect(page.html).toContain('ワンタイムパスワードを再送信しました。');
    }
    await t.smtp.waitFor(() => mailsTo('often@example.jp').length === 10);
    await expireRateLimits();
    const capped = await resend(browser, page);
    expect(capped.status).toBe(429);
    expect(pageNotice(capped.html)).toMatch(
      /^短い時間に多くのメールを送信したため、再送信は(60|59)分後にできます。届いているメールのワンタイムパスワードは入力できます。$/,
    );
    expect(pageErrors(capped.html)).toEqual([]);
    expect(mailsTo('often@example.jp')).toHaveLength(10);
    // The last code mailed still completes the login.
    expect(isPortal((await enter(browser, capped, latestCode('often@example.jp'))).url)).toBe(true);
  });

  it('says so, without a 500, when the mail cannot be delivered', async () => {
    await emailMember('mail00006', 'Mail-pass-6', 'bounce@example.jp');
    t.smtp.failNext(10, 550);
    const { page } = await login('mail00006', 'Mail-pass-6');
    expect(page.status).toBe(503);
    expect(pageErrors(page.html)).toEqual(['メールを送信できませんでした。しばらくしてから「再送信」を選択してください。']);
    t.smtp.clear();
  });
});

describe('emailOtp.maxMailsPerHour, the hourly ceiling on mailed codes', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp({
      configure: (c) => {
        c.union.emailOtp = { codeSeconds: 600, maxAttempts: 5, resendCooldownSeconds: 10, maxMailsPerHour: 3 };
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const mailsTo = (address: string) => t.smtp.messages.filter((m) => m.to.includes(address));
  const latestCode = (address: string) => mailedCode(mailsTo(address).at(-1)!.text);
  const enter = (browser: BrowserClient, page: Page, code: string) => browser.submit(page, 'factor', { code }, { stopAt: isPortal });
  const resend = (browser: BrowserClient, page: Page) =>
    browser.submit({ ...page, html: page.html.slice(page.html.lastIndexOf('<form')) }, 'factor', {}, { stopAt: isPortal });
  const expireCooldowns = () => t.idp.sql.run(`update rate_limit set window_ends_at = now() - interval '1 second' where bucket like 'email-send:%'`);
  const HOURLY = /^短い時間に多くのメールを送信したため、再送信は(60|59)分後にできます。届いているメールのワンタイムパスワードは入力できます。$/;

  it("is read from the society's society.json (10 there), defaults to 10, and a bad value stops the start with one line naming it", () => {
    const union = JSON.parse(readFileSync('config/societies/kosmo/society.json', 'utf8'));
    expect(union.emailOtp.maxMailsPerHour).toBe(10);
    const dir = mkdtempSync(path.join(tmpdir(), 'kosmo-email-code-'));
    try {
      cpSync('config', dir, { recursive: true });
      const env = { CONFIG_DIR: dir, DATA_DIR: path.join(dir, 'data') };
      const societyFile = path.join(dir, 'societies', 'kosmo', 'society.json');
      expect(loadConfig(env).union.emailOtp.maxMailsPerHour).toBe(10);
      const { maxMailsPerHour: _dropped, ...withoutCeiling } = union.emailOtp;
      writeFileSync(societyFile, JSON.stringify({ ...union, emailOtp: withoutCeiling }));
      expect(loadConfig(env).union.emailOtp.maxMailsPerHour).toBe(10);
      for (const bad of [0, 2.5, 'ten']) {
        writeFileSync(societyFile, JSON.stringify({ ...union, emailOtp: { ...union.emailOtp, maxMailsPerHour: bad } }));
        let message = '';
        try {
          loadConfig(env);
        } catch (err) {
          if (err instanceof ConfigError) message = err.message;
          else throw err;
        }
        expect(message).toMatch(/society\.json: field "emailOtp\.maxMailsPerHour": /);
        expect(message).not.toContain('\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts the first codes of new logins and the resends alike, and holds both back once reached', async () => {
    await t.addMember({ userId: 'ceiling01', email: 'ceiling@example.jp' }, { password: 'Ceiling-pass-1', onboarded: true, factor: 'email' });
    const first = await passwordAtPortal(t.url, 'ceiling01', 'Ceiling-pass-1');
    await t.smtp.waitFor(() => mailsTo('ceiling@example.jp').length === 1);
    expect(isPortal((await enter(first.browser, first.page, latestCode('ceiling@example.jp'))).url)).toBe(true);
    // Mail 2: the first code of a new login; mail 3: its 「再送信」 after the cooldown.
    const second = await passwordAtPortal(t.url, 'ceiling01', 'Ceiling-pass-1');
    await t.smtp.waitFor(() => mailsTo('ceiling@example.jp').length === 2);
    await expireCooldowns();
    const resent = await resend(second.browser, second.page);
    expect(resent.html).toContain('ワンタイムパスワードを再送信しました。');
    await t.smtp.waitFor(() => mailsTo('ceiling@example.jp').length === 3);
    await expireCooldowns();
    const capped = await resend(second.browser, resent);
    expect(capped.status).toBe(429);
    expect(pageNotice(capped.html)).toMatch(HOURLY);
    expect(isPortal((await enter(second.browser, capped, latestCode('ceiling@example.jp'))).url)).toBe(true);
    // A new login within the hour gets no fourth mail either, and is told why.
    const third = await passwordAtPortal(t.url, 'ceiling01', 'Ceiling-pass-1');
    expect(third.page.status).toBe(200);
    expect(pageNotice(third.page.html)).toMatch(HOURLY);
    expect(mailsTo('ceiling@example.jp')).toHaveLength(3);
  });
});
