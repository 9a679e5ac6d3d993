import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrationsList } from '../../migrations/index.js';
import { openOrm, type Orm } from '../../src/db/orm.js';
import { checkApplicationRole, migrateAsOwner } from '../../src/db/roles.js';
import { DEFAULT_SOCIETY, SOCIETY_TABLES, withSociety } from '../../src/db/society.js';
import { Sql } from '../../src/db/sql.js';
import { Member } from '../../src/db/entities/index.js';
import { postgresAdapterFactory } from '../../src/oidc/adapter.js';
import { listMemberSessions } from '../../src/members/sessions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * An existing single-society database upgraded: built at the migration before the society one,
 * filled with members, devices, codes, events, sessions and grants, then migrated. Everything is
 * still there, in the default society, visible to the application role with that society only.
 */
const SOCIETY_MIGRATION = migrationsList.findIndex((m) => m.name.endsWith('_society_isolation'));
const BEFORE = migrationsList[SOCIETY_MIGRATION - 1]!.name;
/** Tables created after the society migration (with their society column from the start) held nothing to move. */
const LATER_TABLES = new Set<string>(['backchannel_logout']);
const MOVED_TABLES = SOCIETY_TABLES.filter((t) => !LATER_TABLES.has(t));

describe(`upgrading a populated database through the society migration (from ${BEFORE})`, () => {
  let db: TestDatabase;
  let owner: pg.Client;
  const hanako = randomUUID();
  const taro = randomUUID();
  const later = `now() + interval '1 day'`;

  /** What each table held before the upgrade. */
  const before: Record<string, number> = {};

  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
    const old: Orm = await openOrm(db.ownerUrl, 1);
    try {
      await old.migrator.up({ to: BEFORE });
    } finally {
      await old.close(true);
    }
    owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    const q = (text: string, params: unknown[] = []) => owner.query(text, params);
    await q(
      `insert into member (id, user_id, display_name, insurance_symbol, insurance_number, birthdate, email, email_verified, must_change_password, temporary_id, pending_steps, chosen_factor, terms_version)
       values ($1, 'kosmo001', 'コスモ 太郎', '12', '3456789', '1980-12-01', null, false, true, true, '{birthdate,terms}', null, null),
              ($2, 'kosmo002', 'コスモ 花子', '12', '3456790', '1985-04-02', 'hanako@example.jp', true, false, false, '{}', 'totp', '2026-01')`,
      [taro, hanako],
    );
    await q(
      `insert into credential (id, member_id, kind, label, secret, webauthn_id, public_key, sign_count, created_at) values
         (gen_random_uuid(), $1, 'password', '', '$2b$12$abcdefghijklmnopqrstuv', null, null, 0, now()),
         (gen_random_uuid(), $1, 'totp', '会社用', 'sealed-secret', null, null, 0, now()),
         (gen_random_uuid(), $1, 'passkey', 'iPhone', null, 'webauthn-id-1', 'cose-key', 3, now())`,
      [hanako],
    );
    await q(`insert into one_time_code (id, member_id, purpose, code_hash, expires_at) values (gen_random_uuid(), $1, 'login', 'h1', ${later})`, [hanako]);
    await q(`insert into recovery_code (id, member_id, code_hash, key_id) values (gen_random_uuid(), $1, 'rc1', 'k1'), (gen_random_uuid(), $1, 'rc2', 'k1')`, [
      hanako,
    ]);
    await q(
      `insert into member_event (member_id, type, detail, ip) values ($1, 'login.ok', '{}', '192.0.2.1'), ($2, 'member.created', '{}', null), (null, 'login.unknown', '{}', null)`,
      [hanako, taro],
    );
    await q(`insert into email_verification (token_hash, member_id, email, expires_at) values ('ev1', $1, 'new@example.jp', ${later})`, [hanako]);
    await q(`insert into password_reset (token_hash, member_id, expires_at) values ('pr1', $1, ${later})`, [hanako]);
    await q(`insert into session_device (session_uid, member_id, user_agent, ip) values ('sess-uid-1', $1, 'Mozilla/5.0', '192.0.2.1')`, [hanako]);
    await q(`insert into rate_limit (bucket, count, window_ends_at) values ('login-ip:abc', 3, ${later})`);
    await q(`insert into login_lockout (subject, failed_logins) values ('unknown-hmac', 2)`);
    const payload = (extra: Record<string, unknown>) => JSON.stringify({ accountId: hanako, ...extra });
    await q(
      `insert into oidc_payload (model, id, payload, grant_id, uid, expires_at) values
         ('Session', 'session-1', $1, null, 'sess-uid-1', ${later}),
         ('Grant', 'grant-1', $2, 'grant-1', null, ${later}),
         ('RefreshToken', 'refresh-1', $3, 'grant-1', null, ${later}),
         ('AccessToken', 'access-1', $4, 'grant-1', null, ${later}),
         ('Interaction', 'interaction-1', '{"prompt":{"name":"login"}}', null, 'interaction-uid-1', ${later})`,
      [
        payload({ uid: 'sess-uid-1', loginTs: 1_800_000_000 }),
        payload({ clientId: 'portal', jti: 'grant-1' }),
        payload({ grantId: 'grant-1', sessionUid: 'sess-uid-1', clientId: 'portal' }),
        payload({ grantId: 'grant-1', sessionUid: 'sess-uid-1', clientId: 'portal' }),
      ],
    );
    await q(`insert into signing_key (kid, encrypted_jwk) values ('kid-1', 'sealed-jwk'), ('kid-2', 'sealed-jwk-2')`);
    await q(`insert into dev_mail (recipients, subject, text) values ('hanako@example.jp', '認証コード', '123456')`);
    for (const table of MOVED_TABLES) before[table] = Number((await q(`select count(*) as n from ${table}`)).rows[0].n);

    // The upgrade, as `npm start` runs it: the migrations as the owner, then the application role's grants.
    await migrateAsOwner(db.ownerUrl, 'kosmo_app');
  });
  afterAll(async () => {
    await owner?.end();
    await db?.drop();
  });

  it('had rows in every society table before', () => {
    for (const table of MOVED_TABLES) expect({ table, rows: before[table]! > 0 }).toEqual({ table, rows: true });
  });

  it(`keeps every row, each now in the default society "${DEFAULT_SOCIETY}"`, async () => {
    for (const table of MOVED_TABLES) {
      const rows = await owner.query(`select society_id, count(*)::int as n from ${table} group by society_id`);
      expect({ table, rows: rows.rows }).toEqual({ table, rows: [{ society_id: DEFAULT_SOCIETY, n: before[table] }] });
    }
    // A new row takes the society of its connection; existing ones kept theirs.
    const defaults = await owner.query<{ column_default: string }>(
      "select distinct column_default from information_schema.columns where table_schema = 'public' and column_name = 'society_id'",
    );
    expect(defaults.rows).toEqual([{ column_default: "current_setting('app.society'::text)" }]);
  });

  it('shows them to the application role with that society, and to nobody else', async () => {
    const app = new pg.Client({ connectionString: db.url });
    await app.connect();
    try {
      // One statement at a time: the client is one connection.
      const counts = async () => {
        const rows: Record<string, number> = {};
        for (const t of MOVED_TABLES) rows[t] = Number((await app.query(`select count(*) as n from ${t}`)).rows[0].n);
        return rows;
      };
      expect(await counts()).toEqual(Object.fromEntries(MOVED_TABLES.map((t) => [t, 0])));
      await app.query("select set_config('app.society', 'another', false)");
      expect(await counts()).toEqual(Object.fromEntries(MOVED_TABLES.map((t) => [t, 0])));
      await app.query("select set_config('app.society', $1, false)", [DEFAULT_SOCIETY]);
      expect(await counts()).toEqual(before);
      expect((await app.query('select user_id, email from member order by user_id')).rows).toEqual([
        { user_id: 'kosmo001', email: null },
        { user_id: 'kosmo002', email: 'hanako@example.jp' },
      ]);
      // The sessions, grants and tokens still name their member, now through an indexed column.
      expect((await app.query(`select model from oidc_payload where account_id = $1 order by model`, [hanako])).rows.map((r) => r.model)).toEqual([
        'AccessToken',
        'Grant',
        'RefreshToken',
        'Session',
      ]);
    } finally {
      await app.end();
    }
  });

  it('serves them through the application as before: the member, the refresh token, the session list', async () => {
    const orm = await openOrm(db.url, 2);
    try {
      await checkApplicationRole(orm);
      const sql = Sql.pool(orm);
      await withSociety(DEFAULT_SOCIETY, async () => {
        const member = await orm.em.fork().findOneOrFail(Member, { userId: 'kosmo002' });
        expect([member.id, member.email, member.societyId]).toEqual([hanako, 'hanako@example.jp', DEFAULT_SOCIETY]);
        const RefreshTokens = postgresAdapterFactory(sql);
        expect(await new RefreshTokens('RefreshToken').find('refresh-1')).toMatchObject({ grantId: 'grant-1', accountId: hanako });
        expect((await listMemberSessions(sql, hanako)).map((s) => [s.uid, s.userAgent])).toEqual([['sess-uid-1', 'Mozilla/5.0']]);
      });
      // Without the society, the same reads find nothing.
      expect(await orm.em.fork().findOne(Member, { userId: 'kosmo002' })).toBeNull();
      expect(await new (postgresAdapterFactory(sql))('RefreshToken').find('refresh-1')).toBeUndefined();
    } finally {
      await orm.close(true);
    }
  });
});
