import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { addMember } from '../../src/admin/member-add.js';
import { showMember } from '../../src/admin/member-show.js';
import { listMemberEvents, parseMemberEventsArgs } from '../../src/admin/member-events.js';
import { ExitCode, UsageError } from '../../src/admin/result.js';
import { recordMemberEvent } from '../../src/members/events.js';
import { openAdminTestDatabase, type AdminTestDatabase } from './admin-database.js';

describe('member show and member events', () => {
  let db: AdminTestDatabase;
  let memberId: string;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
    await addMember(db.deps, { userId: 'show0001', symbol: 'AB12', number: '3456789', birthdate: '1980-12-01', name: '表示 太郎', email: 'show@example.jp' });
    memberId = (await db.deps.sql.one<{ id: string }>(`select id from member where user_id = 'show0001'`))!.id;
    for (let i = 1; i <= 12; i++) await recordMemberEvent(db.deps.sql, memberId, `test.event_${String(i).padStart(2, '0')}`, { n: i }, '192.0.2.1');
    await db.deps.sql.run(`update member set failed_logins = 2, lock_count = 1, locked_until = now() + interval '5 minutes' where id = $1`, [memberId]);
  });
  afterAll(async () => {
    await db.close();
  });

  it('shows the record, login state and the last 10 events, but not the birth date', async () => {
    const result = await showMember(db.deps, { userId: 'Show0001' });
    expect(result.exitCode).toBe(ExitCode.ok);
    const text = result.output.join('\n');
    for (const expected of [
      'show0001',
      '表示 太郎',
      'AB12',
      '3456789',
      'show@example.jp  (not verified)',
      'initial (記号+番号+生年月日)',
      'temporary ID',
      'birthdate, terms',
      'none accepted',
      'not chosen',
      'LOCKED until',
      '2 failed logins',
      'last login',
      'never',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).not.toContain('1980');
    expect(result.data!.events.map((e) => e.type)).toEqual(Array.from({ length: 10 }, (_, i) => `test.event_${String(12 - i).padStart(2, '0')}`));
    expect(result.data).toMatchObject({ failedLogins: 2, lockCount: 1, lockedPermanently: false, hasOwnPassword: false, temporaryId: true });
  });

  it('answers "not found" for an unknown user ID', async () => {
    const result = await showMember(db.deps, { userId: 'nobody' });
    expect(result.exitCode).toBe(ExitCode.refused);
    expect(result.errors).toEqual(['no member with user ID "nobody"']);
  });

  it('lists events newest first, up to --limit', async () => {
    const args = parseMemberEventsArgs(['show0001', '--limit', '3']);
    const result = await listMemberEvents(db.deps, args);
    expect(result.data!.events.map((e) => e.type)).toEqual(['test.event_12', 'test.event_11', 'test.event_10']);
    expect(result.output[0]).toMatch(/test\.event_12 {2}ip 192\.0\.2\.1 {2}\{"n":12\}$/);
    const all = await listMemberEvents(db.deps, parseMemberEventsArgs(['show0001']));
    expect(all.data!.events.map((e) => e.type)).toContain('admin.member_added');
    expect(() => parseMemberEventsArgs(['show0001', '--limit', 'ten'])).toThrow(UsageError);
  });
});
