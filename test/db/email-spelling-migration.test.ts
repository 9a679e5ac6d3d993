import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import pg from 'pg';
import { Migration20261206010000_email_spelling } from '../../migrations/Migration20261206010000_email_spelling.js';
import { createTestDatabase } from '../support/database.js';

/** The stored names of the mailed-code factor written before it had one spelling read as `email` after the upgrade. */
describe('the email spelling migration', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // As the server does: statements for one society (src/db/society.ts; the migration itself ran before row-level security existed).
    await client.query("select set_config('app.society', 'kosmo', false)");
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('renames the audit events, the codes in flight and the counters in their window, and nothing else', async () => {
    const member = (
      await client.query(
        `insert into member (id, user_id, display_name, insurance_symbol, insurance_number, birthdate)
         values (gen_random_uuid(), 'spell001', '綴 太郎', '1', '1', '1980-01-01') returning id`,
      )
    ).rows[0].id as string;
    for (const type of ['login.email_otp_ok', 'login.email_otp_wrong', 'login.email_otp_resent', 'login.totp_ok'])
      await client.query('insert into member_event (member_id, type, detail) values ($1, $2, $3)', [member, type, '{}']);
    await client.query(
      `insert into one_time_code (id, member_id, purpose, code_hash, expires_at) values (gen_random_uuid(), $1, 'email_otp', 'h', now() + interval '5 minutes')`,
      [member],
    );
    for (const bucket of [`email-otp-send:${member}`, `email-otp-hour:${member}`, 'login-ip:127.0.0.1'])
      await client.query(`insert into rate_limit (bucket, count, window_ends_at) values ($1, 1, now() + interval '1 hour')`, [bucket]);

    const migration = new Migration20261206010000_email_spelling({} as never, {} as never);
    migration.up();
    for (const query of migration.getQueries()) await client.query(String(query));

    const events = (await client.query('select type from member_event where member_id = $1 order by id', [member])).rows.map((r) => r.type);
    expect(events).toEqual(['login.email_ok', 'login.email_wrong', 'login.email_resent', 'login.totp_ok']);
    expect((await client.query('select purpose from one_time_code where member_id = $1', [member])).rows).toEqual([{ purpose: 'email' }]);
    const buckets = (await client.query('select bucket from rate_limit order by bucket')).rows.map((r) => r.bucket);
    expect(buckets).toEqual([`email-hour:${member}`, `email-send:${member}`, 'login-ip:127.0.0.1'].sort());
  });
});
