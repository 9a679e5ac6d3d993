import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { importMembers } from '../../src/admin/member-import.js';
import { ExitCode } from '../../src/admin/result.js';
import { openAdminTestDatabase, writeCsv, CSV_HEADER, type AdminTestDatabase } from './admin-database.js';

describe('member import', () => {
  let db: AdminTestDatabase;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  const count = async (prefix: string) =>
    Number((await db.deps.sql.one<{ n: string }>(`select count(*) as n from member where user_id like $1`, [`${prefix}%`]))!.n);

  it('imports a good file (BOM, CRLF, empty email, quoted name) and records an event per member', async () => {
    const file = writeCsv(
      [
        `\uFEFF${CSV_HEADER}`,
        'good0001,12,1000001,1980-12-01,健保 一郎,ichiro@example.jp',
        'GOOD0002,12,1000002,1981-01-02,"健保, 二郎",',
        'good0003,12,1000003,1982-03-04,健保 三郎,saburo@example.jp',
      ].map((l) => `${l}\r`),
    );
    const result = await importMembers(db.deps, { file });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.output[0]).toMatch(/^imported 3 members from .* in \d/);
    expect(await count('good')).toBe(3);
    const second = await db.deps.sql.one<{ display_name: string; email: string | null }>(`select display_name, email from member where user_id = 'good0002'`);
    expect(second).toEqual({ display_name: '健保, 二郎', email: null });
    const events = await db.deps.sql.one<{ n: string }>(
      `select count(*) as n from member_event e join member m on m.id = e.member_id where m.user_id like 'good%' and e.type = 'admin.member_imported'`,
    );
    expect(Number(events!.n)).toBe(3);
  });

  it('reports the file lines of every bad row and imports nothing', async () => {
    const file = writeCsv([
      CSV_HEADER,
      'line0002,12,2000002,1980-12-01,a,',
      'line0003,12,2000003,1980-13-01,b,',
      'line0004,12,2000004,1980-12-01,c,',
      'line0005,12,2000005,1980-12-01,d,not-an-address',
      'line0006,12,2000006,1980-12-01,e,',
    ]);
    const result = await importMembers(db.deps, { file });
    expect(result.exitCode).toBe(ExitCode.inputData);
    expect(result.errors).toEqual([
      `${file}:3: birthdate: birth date is not a real past date`,
      `${file}:5: email: email is not a valid address`,
      '2 problems found; nothing was imported',
    ]);
    expect(await count('line')).toBe(0);
  });

  it('counts lines across quoted line breaks and skipped empty lines', async () => {
    const file = writeCsv([CSV_HEADER, 'wrap0002,12,2100002,1980-12-01,"two', 'lines",', '', 'wrap0005,12,2100005,1980-12-01,e,bad@']);
    const result = await importMembers(db.deps, { file });
    expect(result.errors[0]).toBe(`${file}:5: email: email is not a valid address`);
  });

  it('refuses a user ID that appears twice in the file, naming both lines', async () => {
    const file = writeCsv([CSV_HEADER, 'twin0001,12,3000001,1980-12-01,a,', 'twin0002,12,3000002,1980-12-01,b,', 'TWIN0001,12,3000003,1980-12-01,c,']);
    const result = await importMembers(db.deps, { file });
    expect(result.exitCode).toBe(ExitCode.inputData);
    expect(result.errors[0]).toBe(`${file}:4: user ID "twin0001" already appears on line 2`);
    expect(await count('twin')).toBe(0);
  });

  it('refuses an email address that appears twice in the file', async () => {
    const file = writeCsv([CSV_HEADER, 'mail0001,12,3100001,1980-12-01,a,same@example.jp', 'mail0002,12,3100002,1980-12-01,b,SAME@example.jp']);
    const result = await importMembers(db.deps, { file });
    expect(result.errors[0]).toBe(`${file}:3: email address already appears on line 2`);
  });

  it('refuses user IDs and addresses the database already holds', async () => {
    const file = writeCsv([
      CSV_HEADER,
      'good0001,12,4000001,1980-12-01,a,',
      'dbdup002,12,4000002,1980-12-01,b,ichiro@example.jp',
      'dbdup003,12,4000003,1980-12-01,c,',
    ]);
    const result = await importMembers(db.deps, { file });
    expect(result.exitCode).toBe(ExitCode.inputData);
    expect(result.errors).toEqual([
      `${file}:2: user ID "good0001" is already registered`,
      `${file}:3: email address is already used by a registered member`,
      '2 problems found; nothing was imported',
    ]);
    expect(await count('dbdup')).toBe(0);
  });

  it('refuses a file whose header is missing or different', async () => {
    const noHeader = writeCsv(['head0001,12,5000001,1980-12-01,a,']);
    const missing = await importMembers(db.deps, { file: noHeader });
    expect(missing.exitCode).toBe(ExitCode.inputData);
    expect(missing.errors[0]).toMatch(/:1: the header must be exactly "user_id,symbol,number,birthdate,name,email", found "head0001/);
    const reordered = writeCsv(['user_id,number,symbol,birthdate,name,email', 'head0002,12,5000002,1980-12-01,a,']);
    const wrong = await importMembers(db.deps, { file: reordered });
    expect(wrong.exitCode).toBe(ExitCode.inputData);
    expect(wrong.errors[0]).toContain(':1: the header must be exactly');
    expect(await count('head')).toBe(0);
  });

  it('lists the first problems and counts the rest', async () => {
    const lines = [CSV_HEADER, ...Array.from({ length: 150 }, (_, i) => `many${i},12,1,not-a-date,a,`)];
    const result = await importMembers(db.deps, { file: writeCsv(lines) });
    expect(result.errors).toHaveLength(102);
    expect(result.errors[100]).toBe('... and 50 more');
    expect(result.errors[101]).toBe('150 problems found; nothing was imported');
  });

  it('says so when the file does not exist', async () => {
    const result = await importMembers(db.deps, { file: '/nonexistent/members.csv' });
    expect(result.exitCode).toBe(ExitCode.refused);
    expect(result.errors).toEqual(['/nonexistent/members.csv: file not found']);
  });
});
