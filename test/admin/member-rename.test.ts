import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { addMember } from '../../src/admin/member-add.js';
import { renameMember } from '../../src/admin/member-rename.js';
import { ExitCode } from '../../src/admin/result.js';
import { openAdminTestDatabase, type AdminTestDatabase } from './admin-database.js';

describe('member rename', () => {
  let db: AdminTestDatabase;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
    await addMember(db.deps, { userId: 'name0001', symbol: '12', number: '200', birthdate: '1980-12-01', name: '旧姓 花子' });
  });
  afterAll(async () => {
    await db.close();
  });

  it('changes the display name and records an event without the names', async () => {
    const result = await renameMember(db.deps, { userId: 'name0001', name: '  新姓 花子 ' });
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.output).toEqual(['display name of name0001 changed to "新姓 花子"']);
    const row = await db.deps.sql.one<{ display_name: string }>(`select display_name from member where user_id = 'name0001'`);
    expect(row!.display_name).toBe('新姓 花子');
    const event = await db.deps.sql.one<{ type: string; detail: Record<string, unknown> }>(
      `select e.type, e.detail from member_event e join member m on m.id = e.member_id where m.user_id = 'name0001' order by e.id desc limit 1`,
    );
    expect(event).toEqual({ type: 'admin.renamed', detail: { via: 'cli' } });
  });

  it('rejects an empty name', async () => {
    const result = await renameMember(db.deps, { userId: 'name0001', name: '   ' });
    expect(result.exitCode).toBe(ExitCode.inputData);
    expect(result.errors).toEqual(['NAME: name is required']);
  });

  it('answers "not found" for an unknown user ID', async () => {
    const result = await renameMember(db.deps, { userId: 'nobody', name: 'x' });
    expect(result.exitCode).toBe(ExitCode.refused);
  });
});
