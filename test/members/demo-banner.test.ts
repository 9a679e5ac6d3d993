import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, type TestIdp } from '../support/idp.js';
import { seedDemoMembers, demoMembersWithPrintedPassword } from '../../src/members/demo-seed.js';

/** `npm start` prints a demo member's password only while that password still logs them in. */
describe('the demo passwords the start banner prints', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const printed = async () => (await demoMembersWithPrintedPassword(t.idp.sql, t.idp.hasher)).map((m) => m.userId);

  it('lists both seeded members, then drops each one whose password was changed', async () => {
    expect(await seedDemoMembers(t.idp.sql, t.idp.hasher, t.config.terms.version)).toBe(true);
    expect(await printed()).toEqual(['kosmo001', 'kosmo002']);
    // 花子 sets a new password.
    const hash = await t.idp.hasher.hash('Hanako-changed-1');
    await t.idp.sql.run(`update credential set secret = $1 where kind = 'password' and member_id = (select id from member where user_id = 'kosmo002')`, [hash]);
    expect(await printed()).toEqual(['kosmo001']);
    // 太郎 finishes his first login with his own user ID: the initial password no longer applies to kosmo001.
    await t.idp.sql.run(`update member set user_id = 'first.taro' where user_id = 'kosmo001'`);
    expect(await printed()).toEqual([]);
  });
});
