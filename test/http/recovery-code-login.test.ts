import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, testRelyingParty, isPortal, BrowserClient, passwordAtPortal } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { inTransaction } from '../../src/db/unit-of-work.js';
import { withSociety } from '../../src/db/society.js';
import { issueRecoveryCodes } from '../../src/members/recovery-codes.js';

/** A lost phone: a recovery code in place of the second factor at login. */
describe('logging in with a recovery code', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function atSecondFactor(userId: string, password: string) {
    const { browser, rp, request, page: factor } = await passwordAtPortal(t.url, userId, password);
    return { browser, rp, request, factor };
  }

  it('takes one code once instead of the authenticator app, mails a notice, and tells how many are left', async () => {
    await t.addMember({ userId: 'lostphone1', email: 'lostphone1@example.jp' }, { password: 'Lost-phone-01', onboarded: true });
    const { id } = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['lostphone1']))!;
    const codes = await withSociety(t.idp.society, () => inTransaction(t.idp.orm, (work) => issueRecoveryCodes(work, t.config, id, '127.0.0.1')));

    const { browser, rp, request, factor } = await atSecondFactor('lostphone1', 'Lost-phone-01');
    expect(factor.html).toContain('ワンタイムパスワード');
    expect(factor.html).toContain('リカバリーコードを使用する');
    const href = /href="([^"]*factor\/recovery-code)"/.exec(factor.html)![1]!;
    const page = await browser.go(new URL(href, factor.url).toString(), { stopAt: isPortal });
    expect(page.html).toContain('リカバリーコードの入力');

    expect(pageErrors((await browser.submit(page, '/factor/recovery-code', { code: 'AAAA-BBBB-CCCC-DDDD' })).html)).toEqual([
      'リカバリーコードが正しくないか、すでに使用されています。',
    ]);
    const wrongs = await t.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where id = $1', [id]);
    expect(wrongs!.failed_logins).toBe(1);

    t.smtp.clear();
    const used = await browser.submit(page, '/factor/recovery-code', { code: codes[3]!.toLowerCase() }, { stopAt: isPortal });
    expect(used.html).toContain('リカバリーコードでログインしました');
    expect(used.html).toContain('残り9個');
    await t.smtp.waitFor((m) => m.to.includes('lostphone1@example.jp') && m.text.includes('リカバリーコードを使用してログインしました'));
    const continueUrl = new URL(/href="([^"]*\/continue)"/.exec(used.html)![1]!, used.url).toString();
    const back = await browser.go(continueUrl, { stopAt: isPortal });
    expect(isPortal(back.url)).toBe(true);
    const tokens = await rp.exchange(back.url, request);
    expect(tokens.claims()!.amr).toEqual(expect.arrayContaining(['pwd', 'rc', 'mfa']));
    // A printed look-up secret with the password (AAL2): the member who lost the phone can replace it.
    expect(tokens.claims()!.acr).toBe('urn:kosmo:acr:mfa');
    const methods = await browser.go(`${t.url}/account/login-methods`);
    const deleteUrl = new URL(/href="(\/account\/credentials\/[^"]+\/delete)"/.exec(methods.html)![1]!, t.url).toString();
    const confirm = await browser.go(deleteUrl);
    expect([confirm.status, new URL(confirm.url).pathname]).toEqual([200, new URL(deleteUrl).pathname]);

    // The same code does not work a second time.
    const again = await atSecondFactor('lostphone1', 'Lost-phone-01');
    const page2 = await again.browser.go(new URL(/href="([^"]*factor\/recovery-code)"/.exec(again.factor.html)![1]!, again.factor.url).toString(), {
      stopAt: isPortal,
    });
    expect(pageErrors((await again.browser.submit(page2, '/factor/recovery-code', { code: codes[3]! })).html)).toEqual([
      'リカバリーコードが正しくないか、すでに使用されています。',
    ]);
  });

  it('is not reachable before the password, nor for a member still setting a device up', async () => {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const loginPage = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const direct = await browser.go(loginPage.url.replace(/\/?$/, '/factor/recovery-code'), { stopAt: isPortal });
    expect(direct.html).not.toContain('リカバリーコードの入力');
  });
});
