import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { addMember, parseMemberAddArgs } from '../../src/admin/member-add.js';
import { ExitCode, UsageError } from '../../src/admin/result.js';
import { openAdminTestDatabase, type AdminTestDatabase } from './admin-database.js';

const taro = { userId: 'Add00001', symbol: '12', number: '3456789', birthdate: '1980-12-01', name: '健保 太郎', email: 'Taro@Example.jp' };

describe('member add', () => {
  let db: AdminTestDatabase;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('registers a member owing the first-login steps, with an audit event, and prints only the password hint', async () => {
    const result = await addMember(db.deps, taro);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.output.join('\n')).toContain('add00001');
    expect(result.output.join('\n')).toContain('記号+番号+生年月日');
    expect(result.output.join('\n')).not.toContain('12345678919801201');
    const row = await db.deps.sql.one<{ id: string; email: string; password_hash: string | null; pending_steps: string[] }>(
      `select m.id, email, c.secret as password_hash, pending_steps from member m left join credential c on c.member_id = m.id where user_id = 'add00001'`,
    );
    expect(row).toMatchObject({ email: 'taro@example.jp', password_hash: null });
    expect(row!.pending_steps.length).toBeGreaterThan(0);
    const events = await db.deps.sql.rows<{ type: string }>('select type from member_event where member_id = $1', [row!.id]);
    expect(events.map((e) => e.type)).toEqual(['admin.member_added']);
  });

  it('refuses a user ID that is already taken, in any case', async () => {
    const result = await addMember(db.deps, { ...taro, userId: 'ADD00001', email: undefined });
    expect(result.exitCode).toBe(ExitCode.refused);
    expect(result.errors).toEqual(['user ID "add00001" is already taken']);
  });

  it('refuses an email address another member uses', async () => {
    const result = await addMember(db.deps, { ...taro, userId: 'add00002', email: 'TARO@example.jp' });
    expect(result.exitCode).toBe(ExitCode.refused);
    expect(result.errors).toEqual(['the email address is already used by another member']);
    expect(await db.deps.sql.one(`select 1 from member where user_id = 'add00002'`)).toBeUndefined();
  });

  it('rejects a birth date that does not exist', async () => {
    const result = await addMember(db.deps, { ...taro, userId: 'add00003', email: undefined, birthdate: '1980-02-30' });
    expect(result.exitCode).toBe(ExitCode.inputData);
    expect(result.errors).toEqual(['--birthdate: birth date is not a real past date']);
  });

  it('rejects an invalid email address', async () => {
    const result = await addMember(db.deps, { ...taro, userId: 'add00004', email: 'taro.@example.jp' });
    expect(result.exitCode).toBe(ExitCode.inputData);
    expect(result.errors).toEqual(['--email: email is not a valid address']);
  });

  it('reads its options and calls a missing one a usage error', () => {
    expect(parseMemberAddArgs(['--user-id', 'u1', '--symbol', '1', '--number', '2', '--birthdate', '1990-01-01', '--name', 'N'])).toEqual({
      userId: 'u1',
      symbol: '1',
      number: '2',
      birthdate: '1990-01-01',
      name: 'N',
      email: undefined,
    });
    expect(() => parseMemberAddArgs(['--user-id', 'u1'])).toThrow(UsageError);
    expect(() => parseMemberAddArgs(['--user-id', 'u1', '--colour', 'x'])).toThrow('unknown option --colour');
  });
});
