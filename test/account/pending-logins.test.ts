import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, testRelyingParty, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';

describe('a password changed in the account console', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends a login elsewhere that passed the old password and has not finished', async () => {
    await t.addMember({ userId: 'pending01', email: 'pending01@example.jp' }, { password: 'Old-pass-0001', onboarded: true });
    const member = new BrowserClient();
    await loginThroughPortal(t.url, member, 'pending01', 'Old-pass-0001');
    // Someone else has the old password and stops right after it.
    const other = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const loginPage = await other.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const passed = await other.submit(loginPage, '/login', { user_id: 'pending01', password: 'Old-pass-0001' }, { stopAt: (u) => u.includes('/factor') });
    expect(passed.url).toContain('/factor');

    const form = await member.go(`${t.url}/account/password`);
    const done = await member.submit(form, '/account/password', { password: 'New-pass-0001', password_confirmation: 'New-pass-0001' });
    expect(done.url).toContain('/account/login-methods?done=password');

    const resumed = await other.go(passed.url, { stopAt: isPortal });
    expect(isPortal(resumed.url)).toBe(false);
    expect(pageErrors(resumed.html)).toEqual(['パスワードが変更されたため、もう一度ログインしてください。']);
  });
});
