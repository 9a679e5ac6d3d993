import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, type TestIdp, BrowserClient } from '../support/idp.js';
import { issueEmailVerification } from '../../src/members/email-verification.js';

/** The 「メールアドレスの確認」 link speaks the member's saved language, opened in any browser. */
describe("the email verification pages in the member's language", () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function linkOf(userId: string, locale: 'ja' | 'en'): Promise<string> {
    await t.addMember({ userId, email: `${userId}@example.jp` }, { password: 'Verify-pass-01', onboarded: true });
    await t.idp.sql.run('update member set locale = $2 where user_id = $1', [userId, locale]);
    const member = await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]);
    const token = await issueEmailVerification(t.idp.sql, member!.id, `new.${userId}@example.jp`, 600);
    return `${t.url}/verify-email/${token}`;
  }

  it('shows the confirm page and its result in English to a member who uses English', async () => {
    const browser = new BrowserClient();
    const confirm = await browser.go(await linkOf('verifyen1', 'en'));
    expect(confirm.html).toContain('<html lang="en"');
    expect(confirm.html).toContain('Confirm your email address');
    const done = await browser.submit(confirm, '/verify-email/', {});
    expect(done.html).toContain('Email address confirmed');
    // Opened again: still English.
    expect((await browser.go(confirm.url)).html).toContain('Your email address is already confirmed');
  });

  it('stays in Japanese for a Japanese member, and a language this browser chose wins', async () => {
    expect((await new BrowserClient().go(await linkOf('verifyja1', 'ja'))).html).toContain('メールアドレスの確認');
    const chosen = await new BrowserClient().go(`${await linkOf('verifyen2', 'en')}?lang=ja`);
    expect(chosen.html).toContain('メールアドレスを確認する');
  });
});
