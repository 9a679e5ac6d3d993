import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, loginThroughPortal, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { pageErrors, withoutRequestDetails as stable, findForm } from '../support/browser-client.js';

const INVALID = '無効なユーザIDまたはパスワードです。';


describe('the login screen', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    await t.addMember({ userId: 'login0001', email: 'login@example.jp' }, { password: 'Login-pass-1', onboarded: true });
  });
  afterAll(async () => { await t.close(); });

  async function openLogin(extra: Record<string, string> = {}) {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest(extra);
    const page = await browser.go(request.url, { stopAt: isPortal });
    return { browser, rp, request, page };
  }

  it('shows the manual\'s fields and buttons in Japanese', async () => {
    const { page } = await openLogin();
    expect(page.status).toBe(200);
    for (const text of ['ログイン', 'ユーザID', 'パスワード', 'ログイン状態の保存', 'ポータルに戻る']) expect(page.html).toContain(text);
    expect(page.html).toContain('lang="ja"');
  });

  it('speaks English when the portal asks with ui_locales or the member picks it', async () => {
    const { page } = await openLogin({ ui_locales: 'en' });
    expect(page.html).toContain('Keep me logged in');
    const { browser, page: ja } = await openLogin();
    const en = await browser.go(`${ja.url}?lang=en`);
    expect(en.html).toContain('lang="en"');
    expect(en.html).toContain('Back to the portal');
  });

  it('treats a user ID typed in uppercase as lowercase', async () => {
    const { after } = await loginThroughPortal(t.url, new BrowserClient(), 'LOGIN0001', 'Login-pass-1');
    expect(isPortal(after.url)).toBe(true);
  });

  it('answers a wrong password and an unknown user ID with the same message and page, keeping the user ID', async () => {
    const a = await openLogin();
    const wrong = await a.browser.submit(a.page, '/login', { user_id: 'login0001', password: 'not-it' });
    const b = await openLogin();
    const unknown = await b.browser.submit(b.page, '/login', { user_id: 'nobody0001', password: 'not-it' });
    expect(pageErrors(wrong.html)).toEqual([INVALID]);
    expect(pageErrors(unknown.html)).toEqual([INVALID]);
    expect(wrong.status).toBe(unknown.status);
    expect(stable(wrong.html)).toBe(stable(unknown.html));
    expect(wrong.html).toContain('value="login0001"');
    expect(wrong.html).not.toContain('not-it');
  });

  it('answers an empty form with the same message', async () => {
    const { browser, page } = await openLogin();
    const answer = await browser.submit(page, '/login', { user_id: '', password: '' });
    expect(pageErrors(answer.html)).toEqual([INVALID]);
  });

  it('refuses a post without the right CSRF token, on the same page, without logging in', async () => {
    const { browser, page } = await openLogin();
    const answer = await browser.submit(page, '/login', { user_id: 'login0001', password: 'Login-pass-1', _csrf: 'forged' }, { stopAt: isPortal });
    expect(answer.status).toBe(400);
    expect(pageErrors(answer.html)[0]).toContain('画面の有効期限が切れたか');
    expect(isPortal(answer.url)).toBe(false);
  });

  it('logs a provisioned member in with the initial password 記号+番号+生年月日, never hashed', async () => {
    await t.addMember({ userId: 'initial01', symbol: '12', number: '3456789', birthdate: '1980-12-01' });
    const row = await t.idp.sql.one<{ password_hash: string | null }>('select password_hash from member where user_id = $1', ['initial01']);
    expect(row!.password_hash).toBeNull();
    const { after } = await loginThroughPortal(t.url, new BrowserClient(), 'initial01', '12345678919801201');
    expect(after.html).toContain('生年月日の入力');
    const wrong = await loginThroughPortal(t.url, new BrowserClient(), 'initial01', '12345678919801202');
    expect(pageErrors(wrong.after.html)).toEqual([INVALID]);
  });

  it('sends the member back to the portal with access_denied from ポータルに戻る', async () => {
    const { browser, page } = await openLogin();
    const back = await browser.submit(page, '/abort', {}, { stopAt: isPortal });
    const url = new URL(back.url);
    expect(url.origin + url.pathname).toBe('http://localhost:3999/callback');
    expect(url.searchParams.get('error')).toBe('access_denied');
  });

  it('keeps the session past the browser only when ログイン状態の保存 is ticked', async () => {
    async function sessionCookie(remember: boolean): Promise<string> {
      const { browser, page } = await openLogin();
      const form = findForm(page.html, '/login');
      const fields: Record<string, string> = { ...form.hidden, user_id: 'login0001', password: 'Login-pass-1' };
      if (remember) fields.remember = 'on';
      let response = await browser.request(new URL(form.action, page.url).toString(), { form: fields });
      for (let i = 0; i < 5; i++) {
        const set = response.headers.getSetCookie().find((c) => c.startsWith('kosmo.session='));
        if (set) return set;
        response = await browser.request(new URL(response.headers.get('location')!, t.url).toString());
      }
      throw new Error('no session cookie set');
    }
    expect(await sessionCookie(true)).toMatch(/expires=/i);
    expect(await sessionCookie(false)).not.toMatch(/expires=|max-age=/i);
  });

  it('shows the login again, not an error, for a GET on the login form URL', async () => {
    const { browser, page } = await openLogin();
    const again = await browser.go(`${page.url}/login`);
    expect(again.status).toBe(200);
    expect(again.html).toContain('ログイン状態の保存');
  });
});
