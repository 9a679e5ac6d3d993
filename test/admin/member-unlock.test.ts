import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { addMember } from '../../src/admin/member-add.js';
import { unlockMember } from '../../src/admin/member-unlock.js';
import { ExitCode } from '../../src/admin/result.js';
import { openAdminTestDatabase, type AdminTestDatabase } from './admin-database.js';

describe('member unlock', () => {
  let db: AdminTestDatabase;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
    await addMember(db.deps, { userId: 'lock0001', symbol: '12', number: '100', birthdate: '1980-12-01', name: '施錠 太郎' });
  });
  afterAll(async () => {
    await db.close();
  });

  it('clears a permanent lock and the failure counters, and records who was unlocked', async () => {
    await db.deps.sql.run(
      `update member set failed_logins = 3, lock_count = 3, locked_until = now() + interval '1 hour', locked_permanently = true where user_id = 'lock0001'`,
    );
    const result = await unlockMember(db.deps, { userId: 'LOCK0001' });
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.output).toEqual(['unlocked lock0001 (was locked permanently)']);
    const row = await db.deps.sql.one(`select failed_logins, lock_count, locked_until, locked_permanently from member where user_id = 'lock0001'`);
    expect(row).toEqual({ failed_logins: 0, lock_count: 0, locked_until: null, locked_permanently: false });
    const event = await db.deps.sql.one<{ type: string; detail: Record<string, unknown> }>(
      `select e.type, e.detail from member_event e join member m on m.id = e.member_id where m.user_id = 'lock0001' order by e.id desc limit 1`,
    );
    expect(event).toEqual({ type: 'admin.unlocked', detail: { via: 'cli', wasLocked: true, permanent: true, failedLogins: 3, lockCount: 3 } });
  });

  it('says when the member was not locked', async () => {
    const result = await unlockMember(db.deps, { userId: 'lock0001' });
    expect(result.output).toEqual(['lock0001 was not locked; failed-login count cleared']);
  });

  it('answers "not found" for an unknown user ID', async () => {
    const result = await unlockMember(db.deps, { userId: 'nobody' });
    expect(result.exitCode).toBe(ExitCode.refused);
    expect(result.errors).toEqual(['no member with user ID "nobody"']);
  });
});
