import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  startTestIdp,
  startMailedTestIdp,
  type MailedTestIdp,
  testRelyingParty,
  isPortal,
  BrowserClient,
  completeTotp,
  type TestIdp,
  passwordAtPortal,
} from '../support/idp.js';
import { secretOnSetupPage, TotpApp } from '../support/factors.js';
import { timeStepAt, totpCodeAt } from '../../src/factors/totp/codes.js';
import { pageErrors, type Page } from '../support/browser-client.js';

describe('first login of a provisioned member', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function startFirstLogin(userId: string, password: string) {
    return passwordAtPortal(t.url, userId, password);
  }

  async function verifyFromMail(browser: BrowserClient, to: string): Promise<Page> {
    const mail = await t.smtp.waitFor((m) => m.to.includes(to) && /verify-email/.test(m.text));
    const link = mail.links.find((l) => l.includes('/verify-email/'))!;
    const confirm = await browser.go(link);
    return browser.submit(confirm, '/verify-email/', {});
  }

  it('walks birth date, terms, email verification, user ID and method, password, then reaches the portal', async () => {
    await t.addMember({ userId: 'walk0001', symbol: '12', number: '3456789', birthdate: '1980-12-01', email: 'walk@example.jp', name: '歩行 太郎' });
    const { browser, rp, request, page: birthdate } = await startFirstLogin('walk0001', '12345678919801201');
    expect(birthdate.html).toContain('生年月日の入力');

    const terms = await browser.submit(birthdate, '/step/birthdate', { birthdate: '19801201' });
    expect(terms.html).toContain('同意する');

    const email = await browser.submit(terms, '/step/terms', { decision: 'agree' });
    expect(email.html).toContain('メールアドレスの更新');
    expect(email.html).toContain('value="walk@example.jp"');

    const sent = await browser.submit(email, '/step/email', { email: 'walk.new@example.jp' });
    expect(sent.html).toContain('メール認証');
    // Refreshing before the link is clicked keeps the member on the waiting page.
    expect((await browser.go(sent.url)).html).toContain('メール認証');

    const verified = await verifyFromMail(new BrowserClient(), 'walk.new@example.jp');
    expect(verified.html).toContain('メールアドレスを確認しました');

    const userIdPage = await browser.go(sent.url, { stopAt: isPortal });
    expect(userIdPage.html).toContain('ユーザIDの設定・認証方法の選択');
    const passwordPage = await browser.submit(userIdPage, '/step/user_id_and_method', { user_id: 'Walker.2026', method: 'totp' });
    expect(passwordPage.html).toContain('パスワードの変更');

    // The chosen method is set up right there, inside this login (manual 2-4-1 steps 8-13).
    const setup = await browser.submit(
      passwordPage,
      '/step/password',
      { password: 'New-pass-2026', password_confirmation: 'New-pass-2026' },
      { stopAt: isPortal },
    );
    expect(setup.html).toContain('ワンタイムパスワードの設定');
    const secret = secretOnSetupPage(setup.html);
    const app = new TotpApp(secret, timeStepAt(Date.now() / 1000));
    // 「初回ログインが完了しました」 (login manual ⑧), then on to the portal.
    const complete = await browser.submit(
      setup,
      '/factor/setup',
      { code: await totpCodeAt(secret, Date.now() / 1000), device_name: '個人用' },
      { stopAt: isPortal },
    );
    expect(complete.html).toContain('<h1>初回ログインが完了しました</h1>');
    const next = /<a class="btn" href="([^"]+)">ポータルへ進む<\/a>/.exec(complete.html)![1]!;
    const done = await browser.go(new URL(next.replace(/&amp;/g, '&'), complete.url).toString(), { stopAt: isPortal });
    expect(isPortal(done.url)).toBe(true);
    const tokens = await rp.exchange(done.url, request);
    const claims = tokens.claims()!;
    expect(claims.preferred_username).toBe('walker.2026');
    expect(claims.email).toBe('walk.new@example.jp');
    expect(claims.email_verified).toBe(true);

    const row = await t.idp.sql.one<{
      pending_steps: string[];
      password_hash: string | null;
      temporary_id: boolean;
      chosen_factor: string;
      terms_version: string;
    }>(
      `select pending_steps, c.secret as password_hash, temporary_id, chosen_factor, terms_version
       from member m left join credential c on c.member_id = m.id and c.kind = 'password' where user_id = $1`,
      ['walker.2026'],
    );
    expect(row).toMatchObject({ pending_steps: [], temporary_id: false, chosen_factor: 'totp', terms_version: t.config.terms.version });
    expect(row!.password_hash).toMatch(/^\$2[aby]\$/);

    // The initial derived password stops working; the new one logs straight in.
    const again = await startFirstLogin('walker.2026', '12345678919801201');
    expect(pageErrors(again.page.html)).toEqual(['無効なユーザIDまたはパスワードです。']);
    const ok = await startFirstLogin('WALKER.2026', 'New-pass-2026');
    expect(ok.page.html).toContain('ワンタイムパスワードの入力');
    expect(ok.page.html).toContain('個人用');
    const portal = await ok.browser.submit(ok.page, '/factor', { code: await app.nextCode() }, { stopAt: isPortal });
    expect(isPortal(portal.url)).toBe(true);
  });

  it('resumes at the owed step after an interrupted first login', async () => {
    await t.addMember({ userId: 'resume001', symbol: '34', number: '1111111', birthdate: '1990-01-02', email: 'resume@example.jp' });
    const first = await startFirstLogin('resume001', '34111111119900102');
    await first.browser.submit(first.page, '/step/birthdate', { birthdate: '19900102' });
    // The tab is closed; a new login in a new browser continues at the terms.
    const second = await startFirstLogin('resume001', '34111111119900102');
    expect(second.page.html).toContain('利用規約');
    expect(second.page.html).not.toContain('生年月日の入力');
  });

  it("shows the manual's email errors on the same page", async () => {
    await t.addMember({ userId: 'mailerr01', symbol: '56', number: '2222222', birthdate: '1975-05-05', email: 'mailerr@example.jp' });
    const { browser, page } = await startFirstLogin('mailerr01', '56222222219750505');
    const terms = await browser.submit(page, '/step/birthdate', { birthdate: '19750505' });
    const email = await browser.submit(terms, '/step/terms', { decision: 'agree' });
    const cases: [string, string[]][] = [
      ['', ['メールアドレスを入力してください。']],
      ['a?b@example.jp', ['無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。']],
      ['name.@example.jp', ['無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。']],
      [
        `${'a'.repeat(250)}@example.jp`,
        ['無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。', '設定可能なメールアドレスの最大文字数は255文字です。'],
      ],
    ];
    for (const [value, expected] of cases) {
      const answer = await browser.submit(email, '/step/email', { email: value });
      expect(answer.status).toBe(400);
      expect(pageErrors(answer.html)).toEqual(expected);
    }
  });

  it('counts a wrong birth date toward the lockout', async () => {
    await t.addMember({ userId: 'birthlock', symbol: '78', number: '3333333', birthdate: '1960-06-06' });
    const { browser, page } = await startFirstLogin('birthlock', '78333333319600606');
    let current = page;
    const max = t.config.union.lockout.maxFailures;
    for (let i = 1; i < max; i++) {
      current = await browser.submit(current, '/step/birthdate', { birthdate: '19600607' });
      // Once few tries are left, the page says how many.
      expect(pageErrors(current.html)).toEqual([
        max - i <= 2 ? `生年月日が正しくありません。あと${max - i}回間違えると、アカウントがロックされます。` : '生年月日が正しくありません。',
      ]);
    }
    const locked = await browser.submit(current, '/step/birthdate', { birthdate: '19600607' });
    expect(pageErrors(locked.html)[0]).toContain('アカウントがロックされている');
  });

  it('ends the login without a session when the terms are declined', async () => {
    await t.addMember({ userId: 'decline01', symbol: '90', number: '4444444', birthdate: '1970-07-07' });
    const { browser, page } = await startFirstLogin('decline01', '90444444419700707');
    const terms = await browser.submit(page, '/step/birthdate', { birthdate: '19700707' });
    const back = await browser.submit(terms, '/step/terms', { decision: 'decline' }, { stopAt: isPortal });
    expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
  });
});

describe('terms of use updated after onboarding', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('asks an onboarded member to re-consent once, after the password and the second factor, before the portal', async () => {
    await t.addMember({ userId: 'reconsent', email: 're@example.jp' }, { password: 'Re-consent-1', onboarded: true });
    t.config.terms.version = '2099-01-01';
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const login = await browser.go(request.url, { stopAt: isPortal });
    const code = await browser.submit(login, '/login', { user_id: 'reconsent', password: 'Re-consent-1' }, { stopAt: isPortal });
    // The manual's 3-9: the second factor first; nothing beyond the password is shown before it.
    expect(code.url).toMatch(/\/factor$/);
    expect(code.html).not.toContain('利用規約');
    const terms = await completeTotp(browser, code, 'reconsent');
    expect(terms.html).toContain('利用規約が更新されました');
    const back = await browser.submit(terms, '/step/terms', { decision: 'agree' }, { stopAt: isPortal });
    expect(isPortal(back.url)).toBe(true);
    expect((await rp.exchange(back.url, request)).claims()!.preferred_username).toBe('reconsent');
    const row = await t.idp.sql.one<{ terms_version: string }>('select terms_version from member where user_id = $1', ['reconsent']);
    expect(row!.terms_version).toBe('2099-01-01');

    // Next time there is nothing left to accept.
    const again = await testRelyingParty(t.url);
    const req2 = await again.authorizationRequest();
    const fresh = new BrowserClient();
    const page = await fresh.go(req2.url, { stopAt: isPortal });
    const done = await completeTotp(
      fresh,
      await fresh.submit(page, '/login', { user_id: 'reconsent', password: 'Re-consent-1' }, { stopAt: isPortal }),
      'reconsent',
    );
    expect(isPortal(done.url)).toBe(true);
  });

  it('sends a member locked while in the steps back to the login page with the locked message', async () => {
    await t.addMember({ userId: 'midlock01', symbol: '11', number: '5555555', birthdate: '1981-01-01' });
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const login = await browser.go(request.url, { stopAt: isPortal });
    const birthdate = await browser.submit(login, '/login', { user_id: 'midlock01', password: '11555555519810101' }, { stopAt: isPortal });
    await t.idp.sql.run(`update member set locked_permanently = true where user_id = 'midlock01'`);
    const answer = await browser.submit(birthdate, '/step/birthdate', { birthdate: '19810101' }, { stopAt: isPortal });
    expect(pageErrors(answer.html)[0]).toContain('アカウントがロックされている');
    expect(answer.html).toContain('name="password"');
  });
});

describe("the member's own language", () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("shows the steps in the member's saved language once they are identified", async () => {
    await t.addMember({ userId: 'english01', symbol: '44', number: '6666666', birthdate: '1977-07-07' });
    await t.idp.sql.run(`update member set locale = 'en' where user_id = 'english01'`);
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const login = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    expect(login.html).toContain('lang="ja"');
    const step = await browser.submit(login, '/login', { user_id: 'english01', password: '44666666619770707' }, { stopAt: isPortal });
    expect(step.html).toContain('Enter your date of birth');
  });
});
