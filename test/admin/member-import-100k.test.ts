import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { importMembers } from '../../src/admin/member-import.js';
import { ExitCode } from '../../src/admin/result.js';
import { deriveInitialPassword } from '../../src/members/initial-password.js';
import { startTestIdp, loginThroughPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { openAdminTestDatabase, writeCsv, CSV_HEADER, type AdminTestDatabase } from './admin-database.js';

const ROWS = 100_000;

function generatedRow(i: number): string {
  const id = `bulk${String(i).padStart(6, '0')}`;
  const birthdate = `19${String(50 + (i % 50)).padStart(2, '0')}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
  return [id, String(10 + (i % 90)), String(1_000_000 + i), birthdate, `組合員 ${i}`, i % 3 === 0 ? '' : `${id}@example.jp`].join(',');
}

describe('importing 100,000 members', () => {
  let db: AdminTestDatabase;
  let t: TestIdp | undefined;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
  });
  afterAll(async () => {
    await t?.close();
    await db.close();
  });

  it('imports them all in one go, and an imported member logs in with the derived initial password', async () => {
    const file = writeCsv([CSV_HEADER, ...Array.from({ length: ROWS }, (_, i) => generatedRow(i))], 'bulk.csv');
    const result = await importMembers(db.deps, { file });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.data!.imported).toBe(ROWS);
    console.log(`member import of ${ROWS} rows: ${(result.data!.elapsedMs / 1000).toFixed(2)} s`);
    const count = await db.deps.sql.one<{ n: string }>('select count(*) as n from member');
    expect(Number(count!.n)).toBe(ROWS);

    const [userId, symbol, number, birthdate] = generatedRow(54_321).split(',');
    t = await startTestIdp({ databaseUrl: db.url });
    const { after } = await loginThroughPortal(
      t.url,
      new BrowserClient(),
      userId!.toUpperCase(),
      deriveInitialPassword({ insuranceSymbol: symbol!, insuranceNumber: number!, birthdate: birthdate! }),
    );
    expect(pageErrors(after.html)).toEqual([]);
    // The password was accepted (the login now goes on with the first-login steps).
    const accepted = await db.deps.sql.one<{ n: string }>(
      `select count(*) as n from member_event e join member m on m.id = e.member_id where m.user_id = $1 and e.type = 'login.password_ok'`,
      [userId],
    );
    expect(Number(accepted!.n)).toBe(1);
  }, 180_000);
});
