import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, BrowserClient, type TestIdp } from '../support/idp.js';
import { issueEmailVerification } from '../../src/members/email-verification.js';

/** Issue 11, item 10: two members confirm the same address at the same moment. */
const TRIALS = 6;

describe('two members confirming one address at the same moment', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  const memberId = async (userId: string) => (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;

  it('verifies it for exactly one; the other sees the "address in use" page, never a 500', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const address = `shared${trial}@example.jp`;
      const links = await Promise.all(
        [`a`, `b`].map(async (side) => {
          const userId = await t.addMember({ userId: `same${side}${trial}00` });
          const token = await issueEmailVerification(t.idp.sql, await memberId(userId), address, 1800);
          const browser = new BrowserClient();
          const page = await browser.go(`${t.url}/verify-email/${token}`);
          expect(page.status).toBe(200);
          return { browser, page };
        }),
      );
      const answers = await Promise.all(links.map(({ browser, page }) => browser.submit(page, '/verify-email/', {})));
      const statuses = answers.map((a) => a.status).sort();
      expect({ trial, statuses }).toEqual({ trial, statuses: [200, 409] });
      expect(answers.find((a) => a.status === 409)!.html).toContain('他のアカウントで設定されているメールアドレスです。');
      const owners = await t.idp.sql.rows('select user_id from member where email = $1 and email_verified', [address]);
      expect(owners).toHaveLength(1);
    }
  });
});
