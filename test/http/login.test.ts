import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient, totpApp, totpFields, type TestIdp } from '../support/idp.js';
import { pageErrors, withoutRequestDetails as stable, findForm } from '../support/browser-client.js';

const INVALID = '無効なユーザIDまたはパスワードです。';
const SESSION = '画面の有効期限が切れたか、不正な送信です。もう一度入力してください。';

describe('the login screen', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'login0001', email: 'login@example.jp' }, { password: 'Login-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  async function openLogin(extra: Record<string, string> = {}) {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest(extra);
    const page = await browser.go(request.url, { stopAt: isPortal });
    return { browser, rp, request, page };
  }
  const loginAction = (page: { html: string; url: string }) => new URL(findForm(page.html, '/login').action, page.url).toString();
  const sessionCount = async () => Number((await t.idp.sql.one<{ n: string }>(`select count(*) as n from oidc_payload where model = 'Session'`))!.n);

  it('shows ユーザID, パスワード, ログイン状態の保存, ログイン and ポータルに戻る in Japanese by default', async () => {
    const { page } = await openLogin();
    expect(page.status).toBe(200);
    expect(page.url).toMatch(new RegExp(`^${t.url}/interaction/[A-Za-z0-9_-]+$`));
    expect(page.html).toContain('<html lang="ja">');
    expect(page.html).toContain('<label for="user_id">ユーザID</label>');
    expect(page.html).toContain('<label for="password">パスワード</label>');
    expect(page.html).toMatch(/<input type="checkbox" name="remember"> ログイン状態の保存<\/label>/);
    expect(page.html).toMatch(/<button type="submit" class="btn">ログイン<\/button>/);
    expect(page.html).toMatch(/<button type="submit" class="link-button">ポータルに戻る<\/button>/);
    expect(page.html).toMatch(/<input type="password" id="password" name="password"/);
  });

  it('speaks English when the portal sends ui_locales=en', async () => {
    const { page } = await openLogin({ ui_locales: 'en' });
    expect(page.html).toContain('<html lang="en">');
    for (const text of ['>User ID</label>', '>Password</label>', 'Keep me logged in', '>Log in</button>', '>Back to the portal</button>'])
      expect(page.html).toContain(text);
    expect(page.html).not.toContain('ユーザID');
  });

  it('speaks English when the member picks it with ?lang=en, and keeps it for the error answer', async () => {
    const { browser, page: ja } = await openLogin();
    expect(ja.html).toContain('<a href="?lang=en" lang="en">English</a>');
    const en = await browser.go(`${ja.url}?lang=en`);
    expect(en.status).toBe(200);
    expect(en.html).toContain('<html lang="en">');
    expect(en.html).toContain('>User ID</label>');
    expect(en.html).toContain('>Back to the portal</button>');
    const answer = await browser.submit(en, '/login', { user_id: 'login0001', password: 'not-it' });
    expect(pageErrors(answer.html)).toEqual(['Invalid user ID or password.']);
  });

  it('logs in with the user ID typed in uppercase, as the lowercase member', async () => {
    const { rp, request, after } = await loginThroughPortal(t.url, new BrowserClient(), 'LOGIN0001', 'Login-pass-1');
    expect(isPortal(after.url)).toBe(true);
    const claims = (await rp.exchange(after.url, request)).claims()!;
    expect(claims.preferred_username).toBe('login0001');
  });

  it('answers a wrong password and an unknown user ID with the same message, status and page, keeping the user ID but not the password', async () => {
    const a = await openLogin();
    const wrong = await a.browser.submit(a.page, '/login', { user_id: 'login0001', password: 'not-it-1' });
    const b = await openLogin();
    const unknown = await b.browser.submit(b.page, '/login', { user_id: 'nobody0001', password: 'not-it-1' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(pageErrors(wrong.html)).toEqual([INVALID]);
    expect(pageErrors(unknown.html)).toEqual([INVALID]);
    expect(stable(wrong.html)).toBe(stable(unknown.html));
    expect(wrong.html).toContain('value="login0001" autocomplete="username webauthn"');
    expect(unknown.html).toContain('value="nobody0001" autocomplete="username webauthn"');
    for (const html of [wrong.html, unknown.html]) {
      expect(html).not.toContain('not-it-1');
      expect(html).toMatch(/<input type="password" id="password" name="password" autocomplete="current-password"[^>]*>/);
      expect(html).not.toMatch(/<input type="password"[^>]*value=/);
    }
    // Still on the same interaction: the page answered in place.
    expect(wrong.url).toBe(`${a.page.url}/login`);
  });

  it('answers an empty form with the same message', async () => {
    const { browser, page } = await openLogin();
    const answer = await browser.submit(page, '/login', { user_id: '', password: '' });
    expect(pageErrors(answer.html)).toEqual([INVALID]);
  });

  it('refuses a post with a wrong CSRF token on the same page, without logging in', async () => {
    const { browser, page } = await openLogin();
    const before = await sessionCount();
    const answer = await browser.submit(page, '/login', { user_id: 'login0001', password: 'Login-pass-1', _csrf: 'forged' }, { stopAt: isPortal });
    expect(answer.status).toBe(400);
    expect(pageErrors(answer.html)).toEqual([SESSION]);
    expect(answer.html).toContain('ログイン状態の保存');
    expect(answer.html).toContain('value="login0001" autocomplete="username webauthn"');
    expect(isPortal(answer.url)).toBe(false);
    expect(await sessionCount()).toBe(before);
  });

  it('refuses a post without a CSRF token, and one without the CSRF cookie, without logging in', async () => {
    await t.addMember({ userId: 'csrf00001' }, { password: 'Csrf-pass-1', onboarded: true });
    const memberRow = () =>
      t.idp.sql.one<{ failed_logins: number; last_login_at: string | null }>('select failed_logins, last_login_at from member where user_id = $1', [
        'csrf00001',
      ]);
    const before = await memberRow();
    const { browser, page } = await openLogin();
    const noToken = await browser.request(loginAction(page), { form: { user_id: 'csrf00001', password: 'Csrf-pass-1' } });
    expect(noToken.status).toBe(400);
    expect(pageErrors(await noToken.text())).toEqual([SESSION]);

    browser.dropCookies((name) => name === 'kosmo.csrf');
    const form = findForm(page.html, '/login');
    const noCookie = await browser.request(loginAction(page), { form: { ...form.hidden, user_id: 'csrf00001', password: 'Csrf-pass-1' } });
    expect(noCookie.status).toBe(400);
    expect(pageErrors(await noCookie.text())).toEqual([SESSION]);
    expect(noCookie.headers.get('location')).toBeNull();
    // The failed submissions did not count against the member either.
    expect(await memberRow()).toEqual({ failed_logins: 0, last_login_at: before!.last_login_at });
  });

  it('logs a provisioned member in with the initial password 記号+番号+生年月日, which is never stored', async () => {
    await t.addMember({ userId: 'initial01', symbol: '12', number: '3456789', birthdate: '1980-12-01' });
    const row = await t.idp.sql.one<{ credentials: string }>(
      `select count(c.id) as credentials from member m left join credential c on c.member_id = m.id where user_id = $1`,
      ['initial01'],
    );
    expect(Number(row!.credentials)).toBe(0);
    const { after } = await loginThroughPortal(t.url, new BrowserClient(), 'initial01', '12345678919801201');
    expect(after.status).toBe(200);
    expect(after.url).toMatch(/\/interaction\/[A-Za-z0-9_-]+\/step\/birthdate$/);
    expect(after.html).toContain('生年月日の入力');
    const wrong = await loginThroughPortal(t.url, new BrowserClient(), 'initial01', '12345678919801202');
    expect(pageErrors(wrong.after.html)).toEqual([INVALID]);
  });

  it("sends the member back to the portal's redirect_uri with error=access_denied from ポータルに戻る", async () => {
    const { browser, page, request } = await openLogin();
    const back = await browser.submit(page, '/abort', {}, { stopAt: isPortal });
    const url = new URL(back.url);
    expect(url.origin + url.pathname).toBe('http://localhost:3999/callback');
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('state')).toBe(request.state);
    expect(url.searchParams.get('code')).toBeNull();
  });

  it('shows the login again, not an error, for a GET on the login form URL', async () => {
    const { browser, page } = await openLogin();
    const again = await browser.go(`${page.url}/login`);
    expect(again.status).toBe(200);
    expect(again.url).toBe(page.url);
    expect(again.html).toContain('ログイン状態の保存');
  });
});

describe('ログイン状態の保存', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'remember01' }, { password: 'Remember-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  /**
   * Posts the login and the TOTP code, then follows /continue to the /auth/:uid resume step, the
   * one that sets the session cookie (no cookie before the second factor).
   */
  async function login(remember: boolean) {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const uid = new URL(page.url).pathname.split('/')[2]!;
    const form = findForm(page.html, '/login');
    const fields: Record<string, string> = { ...form.hidden, user_id: 'remember01', password: 'Remember-pass-1' };
    if (remember) fields.remember = 'on';
    const posted = await browser.request(new URL(form.action, page.url).toString(), { form: fields });
    expect(posted.status).toBe(303);
    expect(posted.headers.getSetCookie().filter((c) => c.startsWith('kosmo.session'))).toEqual([]);
    const factorPage = await browser.go(new URL(posted.headers.get('location')!, t.url).toString());
    expect(new URL(factorPage.url).pathname).toBe(`/interaction/${uid}/factor`);
    const codeForm = findForm(factorPage.html, '/factor');
    const coded = await browser.request(new URL(codeForm.action, factorPage.url).toString(), {
      form: { ...codeForm.hidden, ...(await totpFields(totpApp('remember01')!)) },
    });
    expect(coded.status).toBe(303);
    expect(coded.headers.getSetCookie().filter((c) => c.startsWith('kosmo.session'))).toEqual([]);
    const resume = new URL(coded.headers.get('location')!, t.url);
    expect(resume.pathname).toBe(`/auth/${uid}`);
    const resumed = await browser.request(resume.toString());
    expect(isPortal(resumed.headers.get('location')!)).toBe(true);
    const cookie = resumed.headers.getSetCookie().find((c) => c.startsWith('kosmo.session='))!;
    expect(cookie).toBeDefined();
    const sessionId = /^kosmo\.session=([^;]+)/.exec(cookie)![1]!;
    const row = await t.idp.sql.one<{ seconds: number }>(
      `select extract(epoch from (expires_at - now()))::int as seconds from oidc_payload where model = 'Session' and id = $1`,
      [sessionId],
    );
    return { cookie, storedSeconds: Number(row!.seconds) };
  }

  it('makes the session cookie outlive the browser for the remembered time when ticked', async () => {
    const { cookie, storedSeconds } = await login(true);
    const expires = /expires=([^;]+)/i.exec(cookie)?.[1];
    expect(expires).toBeDefined();
    const seconds = (Date.parse(expires!) - Date.now()) / 1000;
    expect(Math.abs(seconds - t.config.union.ttl.rememberedSessionSeconds)).toBeLessThan(60);
    expect(Math.abs(storedSeconds - t.config.union.ttl.rememberedSessionSeconds)).toBeLessThan(60);
  });

  it('makes it a browser-session cookie when not ticked, with the shorter stored lifetime', async () => {
    const { cookie, storedSeconds } = await login(false);
    expect(cookie).not.toMatch(/expires=|max-age=/i);
    expect(cookie.toLowerCase()).toContain('httponly');
    expect(Math.abs(storedSeconds - t.config.union.ttl.sessionSeconds)).toBeLessThan(60);
  });
});

describe('the answer to a wrong user ID takes as long as to a wrong password', () => {
  let t: TestIdp;
  beforeAll(async () => {
    // A real bcrypt cost here, so that a skipped comparison would show.
    t = await startTestIdp({ env: { BCRYPT_COST: '10' } });
    await t.addMember({ userId: 'timing001' }, { password: 'Timing-pass-1', onboarded: true });
    await t.addMember({ userId: 'timing002' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function timeWrongLogin(userId: string): Promise<number> {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const form = findForm(page.html, '/login');
    const started = performance.now();
    const response = await browser.request(new URL(form.action, page.url).toString(), {
      form: { ...form.hidden, user_id: userId, password: 'wrong-password' },
    });
    await response.text();
    expect(response.status).toBe(401);
    return performance.now() - started;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  it('spends one bcrypt comparison for a known member, a provisioned one and an unknown user ID alike', async () => {
    const known: number[] = [];
    const provisioned: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await timeWrongLogin('timing001'));
      provisioned.push(await timeWrongLogin('timing002'));
      unknown.push(await timeWrongLogin('ghost0001'));
    }
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.6);
    expect(median(unknown)).toBeLessThan(median(known) * 1.6);
    expect(median(provisioned)).toBeGreaterThan(median(known) * 0.6);
  });
});
