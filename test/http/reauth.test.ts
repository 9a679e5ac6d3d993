import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMailedTestIdp, type MailedTestIdp, loginThroughPortal, isPortal, BrowserClient, completeTotp, type Page } from '../support/idp.js';
import { pageErrors, decodeEntities, findForm } from '../support/browser-client.js';
import { SoftwarePasskey } from '../support/software-passkey.js';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';

/**
 * 「続行するには再度認証してください」 (manual 3-2, 3-6, 3-7): a fresh login asked of a browser that is
 * logged in is that member's alone, whatever user ID the form carries.
 */
describe('re-authentication of a logged-in member', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const memberRow = (userId: string) =>
    t.idp.sql.one<{ id: string; user_id: string; chosen_factor: string }>('select id, user_id, chosen_factor from member where user_id = $1', [userId]);
  const loginsOf = async (userId: string) =>
    (
      await t.idp.sql.rows<{ type: string }>(
        `select e.type from member_event e join member m on m.id = e.member_id where m.user_id = $1 and e.type in ('login.password_ok', 'login.completed') order by e.id`,
        [userId],
      )
    ).length;

  /** The console's re-authentication page of `userId`: logged in, the last login too old, a change asked. */
  async function reauthPage(userId: string, password: string): Promise<{ browser: BrowserClient; page: Page }> {
    await t.addMember({ userId, email: `${userId}@example.jp`, name: '本人 花子' }, { password, onboarded: true });
    const browser = new BrowserClient();
    expect(isPortal((await loginThroughPortal(t.url, browser, userId, password)).after.url)).toBe(true);
    const profile = await browser.go(`${t.url}/account`);
    await sleep(1500);
    const page = await browser.submit(profile, '/account', { locale: 'ja', user_id: `${userId}.new`, method: 'totp' });
    expect(page.url).toContain('/interaction/');
    return { browser, page };
  }

  const original = { reauthSeconds: 0 };
  beforeAll(() => {
    original.reauthSeconds = t.config.union.account.reauthSeconds;
    t.config.union.account.reauthSeconds = 1;
  });
  afterAll(() => {
    if (t) t.config.union.account.reauthSeconds = original.reauthSeconds;
  });

  it('shows 「続行するには再度認証してください」 with the user ID fixed, no first-time help and no passkey autofill', async () => {
    const { page } = await reauthPage('reauth01', 'Reauth-pass-01');
    expect(page.html).toContain('続行するには再度認証してください');
    expect(page.html).not.toContain('KOSMO Webを初めてご利用になる方へ');
    expect(page.html).toMatch(/<input[^>]*id="user_id"[^>]*value="reauth01"[^>]*readonly/);
    expect(page.html).not.toContain('name="user_id"');
    expect(page.html).not.toContain('webauthn');
    expect(page.html).toContain('パスワードを忘れた方はこちら');
    expect(page.html).toContain('/session/end?client_id=kosmo-account');
  });

  it("ログアウト there leads to the provider's logout confirmation", async () => {
    const { browser } = await reauthPage('reauth04', 'Reauth-pass-04');
    const confirm = await browser.go(`${t.url}/session/end?client_id=kosmo-account`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('ログアウトしてもよろしいですか');
  });

  it("refuses another member's user ID and password there: the session stays the first member's", async () => {
    await t.addMember({ userId: 'intruder01', email: 'intruder01@example.jp', name: '他人 太郎' }, { password: 'Intruder-pass-1', onboarded: true });
    const { browser, page } = await reauthPage('reauth02', 'Reauth-pass-02');
    const before = await loginsOf('intruder01');
    const refused = await browser.submit(page, '/login', { user_id: 'intruder01', password: 'Intruder-pass-1' });
    expect(refused.status).toBe(401);
    expect(refused.url).toContain('/interaction/');
    expect(pageErrors(refused.html)).toEqual(['パスワードが正しくありません。']);
    expect(await loginsOf('intruder01')).toBe(before);
    // Still the first member's console, and the change still waits for that member's own login.
    const console = await browser.go(`${t.url}/account`);
    expect(console.html).toContain('value="reauth02"');
    expect(console.html).not.toContain('intruder01');
    expect(await memberRow('reauth02.new')).toBeUndefined();

    // The member's own password works whatever user ID the form carries.
    const reauth = await browser.submit(console, '/account', { locale: 'ja', user_id: 'reauth02.new', method: 'totp' });
    const done = await completeTotp(browser, await browser.submit(reauth, '/login', { user_id: 'intruder01', password: 'Reauth-pass-02' }), 'reauth02');
    expect(done.url).toBe(`${t.url}/account?done=saved`);
    expect(await memberRow('reauth02.new')).toBeDefined();
  });

  it("a portal's prompt=login asks the logged-in member only, and another member's password logs nobody in", async () => {
    await t.addMember({ userId: 'portal0001', email: 'portal0001@example.jp', name: '窓口 花子' }, { password: 'Portal-pass-01', onboarded: true });
    await t.addMember({ userId: 'portal0002', email: 'portal0002@example.jp', name: '他人 次郎' }, { password: 'Portal-pass-02', onboarded: true });
    const browser = new BrowserClient();
    const first = await loginThroughPortal(t.url, browser, 'portal0001', 'Portal-pass-01');
    const request = await first.rp.authorizationRequest({ prompt: 'login' });
    const page = await browser.go(request.url, { stopAt: isPortal });
    expect(page.html).toContain('続行するには再度認証してください');
    expect(page.html).toContain('value="portal0001"');
    expect(page.html).toContain('ポータルに戻る');
    const before = await loginsOf('portal0002');
    const refused = await browser.submit(page, '/login', { user_id: 'portal0002', password: 'Portal-pass-02' }, { stopAt: isPortal });
    expect(refused.status).toBe(401);
    expect(await loginsOf('portal0002')).toBe(before);
  });

  it("refuses a passkey that identifies another member there, and takes the member's own", async () => {
    const idOf = async (userId: string) => (await memberRow(userId))!.id;
    await t.addMember({ userId: 'keyowner1', email: 'keyowner1@example.jp', name: '本人 三郎' }, { password: 'Keyowner-pass-1', onboarded: true });
    await t.addMember({ userId: 'keythief1', email: 'keythief1@example.jp', name: '他人 四郎' }, { password: 'Keythief-pass-1', onboarded: true });
    const own = SoftwarePasskey.forIdp(t.idp);
    const others = SoftwarePasskey.forIdp(t.idp);
    await own.enrol(t.idp, await idOf('keyowner1'));
    await others.enrol(t.idp, await idOf('keythief1'));
    const browser = new BrowserClient();
    const first = await loginThroughPortal(t.url, browser, 'keyowner1', 'Keyowner-pass-1');
    const reauth = async () => browser.go((await first.rp.authorizationRequest({ prompt: 'login' })).url, { stopAt: isPortal });
    const options = (page: Page) =>
      JSON.parse(decodeEntities(/data-passkey-login[^>]*data-options="([^"]*)"/.exec(page.html)![1]!)) as PublicKeyCredentialRequestOptionsJSON;
    const post = (page: Page, response: unknown) =>
      browser.go(new URL(findForm(page.html, '/passkey').action, page.url).toString(), {
        form: { ...findForm(page.html, '/passkey').hidden, response: JSON.stringify(response) },
        stopAt: isPortal,
      });

    const page = await reauth();
    // Only the member's own passkey is offered.
    expect(options(page).allowCredentials!.map((c) => c.id)).toEqual([own.credentialId.toString('base64url')]);
    const refused = await post(page, others.assert(options(page), await idOf('keythief1')));
    expect(refused.status).toBe(401);
    expect(refused.html).toContain('続行するには再度認証してください');
    expect(refused.html).toContain('value="keyowner1"');
    const events = await t.idp.sql.rows<{ type: string }>(
      `select type from member_event where member_id = $1 and type in ('login.passkey_ok', 'login.completed')`,
      [await idOf('keythief1')],
    );
    expect(events).toEqual([]);

    const again = await reauth();
    const accepted = await post(again, own.assert(options(again), await idOf('keyowner1')));
    expect(isPortal(accepted.url)).toBe(true);
  });

  it("「戻る」 from the console's re-authentication goes back to the console without the change", async () => {
    const { browser, page } = await reauthPage('reauth03', 'Reauth-pass-03');
    expect(page.html).toContain('>戻る<');
    const back = await browser.submit(page, '/abort', {});
    expect(back.url).toBe(`${t.url}/account`);
    expect(back.html).toContain('value="reauth03"');
    expect(await memberRow('reauth03.new')).toBeUndefined();
  });
});
