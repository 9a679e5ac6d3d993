import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestIdp, type TestIdp, loginThroughPortal, isPortal, BrowserClient, completeTotp } from '../support/idp.js';

/**
 * A console change waiting for a fresh login is applied only by the login it started: a plain GET of
 * /account/apply later (a link, an image, the member's next visit after another login) applies nothing.
 */
describe('a change waiting for re-authentication', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const userIdOf = async (memberId: string) => (await t.idp.sql.one<{ user_id: string }>('select user_id from member where id = $1', [memberId]))!.user_id;

  async function abandonedChange(userId: string, wanted: string) {
    await t.addMember({ userId }, { password: 'Pending-pass-1', onboarded: true });
    const memberId = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
    const browser = new BrowserClient();
    expect(isPortal((await loginThroughPortal(t.url, browser, userId, 'Pending-pass-1')).after.url)).toBe(true);
    const profile = await browser.go(`${t.url}/account`);
    t.config.union.account.reauthSeconds = 1;
    await sleep(1500);
    // The change asks for a login, and the member walks away from it.
    const reauth = await browser.submit(profile, '/account', { locale: 'ja', user_id: wanted, method: 'totp' });
    expect(reauth.url).toContain('/interaction/');
    return { browser, memberId, reauth };
  }

  it('is not applied by a later GET /account/apply after another login', async () => {
    const original = t.config.union.account.reauthSeconds;
    try {
      const { browser, memberId } = await abandonedChange('pending01', 'abandoned.01');
      // Later the member logs in again for something else (パスワードの更新), and is recent now.
      const passwordLogin = await browser.go(`${t.url}/account/password`);
      expect(passwordLogin.url).toContain('/interaction/');
      // The one-second window only had to make the earlier login stale; the login now must count as
      // recent however long it takes on a busy machine.
      t.config.union.account.reauthSeconds = original;
      const password = await completeTotp(
        browser,
        await browser.submit(passwordLogin, '/login', { user_id: 'pending01', password: 'Pending-pass-1' }),
        'pending01',
      );
      expect(password.url).toBe(`${t.url}/account/password`);
      for (const url of [`${t.url}/account/apply`, `${t.url}/account/apply?login=guessed-state-value`]) {
        const applied = await browser.go(url);
        expect(applied.url).toBe(`${t.url}/account`);
        expect(await userIdOf(memberId)).toBe('pending01');
      }
    } finally {
      t.config.union.account.reauthSeconds = original;
    }
  });

  it('is applied when the login it started comes back', async () => {
    const original = t.config.union.account.reauthSeconds;
    try {
      const { browser, memberId, reauth } = await abandonedChange('pending02', 'applied.02');
      t.config.union.account.reauthSeconds = original;
      const done = await completeTotp(browser, await browser.submit(reauth, '/login', { user_id: 'pending02', password: 'Pending-pass-1' }), 'pending02');
      expect(done.url).toBe(`${t.url}/account?done=saved`);
      expect(await userIdOf(memberId)).toBe('applied.02');
      // Once only: the same return again applies nothing more.
      expect((await browser.go(`${t.url}/account/apply`)).url).toBe(`${t.url}/account`);
    } finally {
      t.config.union.account.reauthSeconds = original;
    }
  });
});
