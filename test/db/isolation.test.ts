import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openOrm, type Orm } from '../../src/db/orm.js';
import { Sql } from '../../src/db/sql.js';
import { inTransaction } from '../../src/db/unit-of-work.js';
import { checkApplicationRole } from '../../src/db/roles.js';
import { currentSociety, SOCIETY_TABLES, withSociety } from '../../src/db/society.js';
import { hitRateLimit } from '../../src/db/rate-limit.js';
import { TOKEN_WITH_CONTEXT } from '../../src/oidc/adapter.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Isolation of societies enforced by PostgreSQL (row-level security), as the application's own role
 * (`kosmo_app`) sees it. Rows of two societies, `alpha` and `beta`, are put in every protected table
 * by the owner; the application role must see and change only the rows of the society it is set to,
 * none without one, and must not be able to switch the protection off.
 */

type Insert = (society: string | null, memberId: string, tag: string) => [string, unknown[]];

/**
 * One valid row for each society table. `society` null: the column left to its default (the
 * connection's app.society), as the application writes; otherwise named (the owner seeding).
 */
const ROWS: Record<(typeof SOCIETY_TABLES)[number], Insert> = {
  member: (s, id, tag) => [
    `insert into member (${s ? 'society_id, ' : ''}id, user_id, display_name, insurance_symbol, insurance_number, birthdate, email)
     values (${s ? '$5, ' : ''}$1, $2, '試験 太郎', '12', $3, '1980-12-01', $4)`,
    [id, tag, String(1000000 + Math.floor(Math.random() * 8999999)), `${tag}@example.jp`, ...(s ? [s] : [])],
  ],
  credential: (s, id, tag) => [
    `insert into credential (${s ? 'society_id, ' : ''}id, member_id, kind, label, webauthn_id) values (${s ? '$4, ' : ''}gen_random_uuid(), $1, 'passkey', $2, $3)`,
    [id, tag, `cred-${tag}`, ...(s ? [s] : [])],
  ],
  one_time_code: (s, id, tag) => [
    `insert into one_time_code (${s ? 'society_id, ' : ''}id, member_id, purpose, code_hash, expires_at) values (${s ? '$3, ' : ''}gen_random_uuid(), $1, 'login', $2, now() + interval '10 minutes')`,
    [id, tag, ...(s ? [s] : [])],
  ],
  recovery_code: (s, id, tag) => [
    `insert into recovery_code (${s ? 'society_id, ' : ''}id, member_id, code_hash) values (${s ? '$3, ' : ''}gen_random_uuid(), $1, $2)`,
    [id, tag, ...(s ? [s] : [])],
  ],
  member_event: (s, id, tag) => [
    `insert into member_event (${s ? 'society_id, ' : ''}member_id, type, detail) values (${s ? '$3, ' : ''}$1, 'test.event', jsonb_build_object('tag', $2::text))`,
    [id, tag, ...(s ? [s] : [])],
  ],
  email_verification: (s, id, tag) => [
    `insert into email_verification (${s ? 'society_id, ' : ''}token_hash, member_id, email, expires_at) values (${s ? '$3, ' : ''}$2, $1, 'x@example.jp', now() + interval '1 hour')`,
    [id, `ev-${tag}`, ...(s ? [s] : [])],
  ],
  password_reset: (s, id, tag) => [
    `insert into password_reset (${s ? 'society_id, ' : ''}token_hash, member_id, expires_at) values (${s ? '$3, ' : ''}$2, $1, now() + interval '5 minutes')`,
    [id, `pr-${tag}`, ...(s ? [s] : [])],
  ],
  session_device: (s, id, tag) => [
    `insert into session_device (${s ? 'society_id, ' : ''}session_uid, member_id, user_agent) values (${s ? '$3, ' : ''}$2, $1, 'test')`,
    [id, `sd-${tag}`, ...(s ? [s] : [])],
  ],
  rate_limit: (s, _id, tag) => [
    `insert into rate_limit (${s ? 'society_id, ' : ''}bucket, count, window_ends_at) values (${s ? '$2, ' : ''}$1, 1, now() + interval '1 hour')`,
    [`test:${tag}`, ...(s ? [s] : [])],
  ],
  login_lockout: (s, _id, tag) => [
    `insert into login_lockout (${s ? 'society_id, ' : ''}subject) values (${s ? '$2, ' : ''}$1)`,
    [`lo-${tag}`, ...(s ? [s] : [])],
  ],
  oidc_payload: (s, id, tag) => [
    `insert into oidc_payload (${s ? 'society_id, ' : ''}model, id, payload, uid, expires_at) values (${s ? '$4, ' : ''}'Session', $2, jsonb_build_object('accountId', $1::text, 'uid', $3::text), $3, now() + interval '1 hour')`,
    [id, `sess-${tag}`, `uid-${tag}`, ...(s ? [s] : [])],
  ],
  signing_key: (s, _id, tag) => [
    `insert into signing_key (${s ? 'society_id, ' : ''}kid, encrypted_jwk) values (${s ? '$2, ' : ''}$1, 'sealed')`,
    [`kid-${tag}`, ...(s ? [s] : [])],
  ],
  dev_mail: (s, _id, tag) => [
    `insert into dev_mail (${s ? 'society_id, ' : ''}recipients, subject) values (${s ? '$2, ' : ''}$1, 'test')`,
    [`${tag}@example.jp`, ...(s ? [s] : [])],
  ],
  backchannel_logout: (s, id, tag) => [
    `insert into backchannel_logout (${s ? 'society_id, ' : ''}client_id, account_id, sid) values (${s ? '$3, ' : ''}'portal', $1, $2)`,
    [id, `sid-${tag}`, ...(s ? [s] : [])],
  ],
};

const TABLES = [...SOCIETY_TABLES];
/** Statements the application's role may never run successfully. */
const refusedCodes = ['42501', '42704'];

describe('isolation of societies in PostgreSQL (row-level security, as the application role)', () => {
  let db: TestDatabase;
  let owner: pg.Client;
  let app: pg.Client;
  const members: Record<string, string> = { alpha: randomUUID(), beta: randomUUID() };

  async function connect(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }

  async function seed(client: pg.Client, society: string | null, memberId: string, tag: string, tables = TABLES): Promise<void> {
    for (const table of tables) {
      const [text, params] = ROWS[table](society, memberId, tag);
      await client.query(text, params);
    }
  }

  const setSociety = (client: pg.Client, society: string) => client.query("select set_config('app.society', $1, false)", [society]);
  const count = async (client: pg.Client, table: string, where = 'true') =>
    Number((await client.query(`select count(*) as n from ${table} where ${where}`)).rows[0].n);
  const errorCode = async (run: () => Promise<unknown>) => {
    try {
      await run();
      return 'none';
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    owner = await connect(db.ownerUrl);
    app = await connect(db.url);
    // The owner (a superuser here) puts rows of both societies in every table.
    for (const society of ['alpha', 'beta']) await seed(owner, society, members[society]!, society);
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
    await db?.drop();
  });

  it('protects every society table, and the application role owns none of them and cannot bypass the protection', async () => {
    const tables = await owner.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; owner: string }>(
      `select c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) as owner from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by c.relname`,
    );
    const byName = new Map(tables.rows.map((r) => [r.relname, r]));
    for (const table of TABLES) expect({ table, ...byName.get(table) }).toMatchObject({ table, relrowsecurity: true, relforcerowsecurity: true });
    // Every table with a society column is in the list (a new table cannot be forgotten).
    const withColumn = await owner.query<{ table_name: string }>(
      `select table_name from information_schema.columns where table_schema = 'public' and column_name = 'society_id' order by table_name`,
    );
    expect(withColumn.rows.map((r) => r.table_name).sort()).toEqual([...TABLES].sort());
    const role = await app.query<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>(
      'select rolname, rolsuper, rolbypassrls from pg_roles where rolname = current_user',
    );
    expect(role.rows[0]).toEqual({ rolname: 'kosmo_app', rolsuper: false, rolbypassrls: false });
    expect(tables.rows.filter((r) => r.owner === 'kosmo_app')).toEqual([]);
    const orm = await openOrm(db.url, 1);
    try {
      await expect(checkApplicationRole(orm)).resolves.toBeUndefined();
    } finally {
      await orm.close(true);
    }
  });

  it('with no society set (a fresh connection, or set to nothing): every table reads empty and refuses inserts', async () => {
    const fresh = await connect(db.url);
    try {
      for (const table of TABLES) expect({ table, rows: await count(fresh, table) }).toEqual({ table, rows: 0 });
      for (const table of TABLES) {
        const [text, params] = ROWS[table](null, members.alpha!, `none-${table}`);
        expect({ table, refused: refusedCodes.includes(await errorCode(() => fresh.query(text, params))) }).toEqual({ table, refused: true });
      }
      await setSociety(fresh, '');
      for (const table of TABLES) {
        expect({ table, rows: await count(fresh, table) }).toEqual({ table, rows: 0 });
        const [text, params] = ROWS[table](null, members.alpha!, `empty-${table}`);
        expect({ table, code: await errorCode(() => fresh.query(text, params)) }).toEqual({ table, code: '42501' });
        // Naming a society does not help either.
        const [named, namedParams] = ROWS[table]('alpha', members.alpha!, `named-${table}`);
        expect({ table, code: await errorCode(() => fresh.query(named, namedParams)) }).toEqual({ table, code: '42501' });
        expect({ table, updated: (await fresh.query(`update ${table} set society_id = society_id`)).rowCount }).toEqual({ table, updated: 0 });
      }
    } finally {
      await fresh.end();
    }
  });

  it("with society A: only A's rows, never B's, to read, change, delete or write", async () => {
    await setSociety(app, 'alpha');
    for (const table of TABLES) {
      expect({ table, alpha: await count(app, table), others: await count(app, table, "society_id <> 'alpha'") }).toEqual({ table, alpha: 1, others: 0 });
      expect({ table, updated: (await app.query(`update ${table} set society_id = society_id where society_id = 'beta'`)).rowCount }).toEqual({
        table,
        updated: 0,
      });
      expect({ table, deleted: (await app.query(`delete from ${table} where society_id = 'beta'`)).rowCount }).toEqual({ table, deleted: 0 });
      // Writing a row into B, or moving one of A's rows to B, is refused.
      const [text, params] = ROWS[table]('beta', members.beta!, `into-beta-${table}`);
      expect({ table, code: await errorCode(() => app.query(text, params)) }).toEqual({ table, code: '42501' });
      expect({ table, code: await errorCode(() => app.query(`update ${table} set society_id = 'beta'`)) }).toEqual({ table, code: '42501' });
    }
    // B's member, looked up by its id, does not exist for A.
    expect((await app.query('select 1 from member where id = $1', [members.beta])).rowCount).toBe(0);
    // The owner still sees both societies' rows, untouched.
    for (const table of TABLES) expect({ table, beta: await count(owner, table, "society_id = 'beta'") }).toEqual({ table, beta: 1 });
  });

  it('cannot switch row-level security off: not by ALTER TABLE, not by row_security = off, not by becoming the owner', async () => {
    await setSociety(app, 'alpha');
    for (const table of TABLES) {
      for (const statement of [
        `alter table ${table} disable row level security`,
        `alter table ${table} no force row level security`,
        `drop policy society_isolation on ${table}`,
        `create policy everything on ${table} using (true)`,
      ]) {
        expect({ statement, code: await errorCode(() => app.query(statement)) }).toEqual({ statement, code: '42501' });
      }
    }
    // row_security = off does not bypass the policies: a query they would filter fails instead.
    await app.query('set row_security = off');
    try {
      expect(await errorCode(() => app.query('select count(*) from member'))).toBe('42501');
    } finally {
      await app.query('reset row_security');
    }
    expect(await errorCode(() => app.query('set role kosmo'))).toBe('42501');
    expect(await errorCode(() => app.query('set session authorization kosmo'))).toBe('42501');
  });

  it('keeps a member identity per society: the same user ID, address, passkey and counters in two societies are two', async () => {
    const ids = { alpha: randomUUID(), beta: randomUUID() };
    for (const society of ['alpha', 'beta'] as const) {
      await setSociety(app, society);
      // The same in both societies: user ID, address, WebAuthn id, rate-limit bucket, lockout subject, session id.
      await seed(app, null, ids[society], 'same.001', ['member', 'credential', 'rate_limit', 'login_lockout', 'oidc_payload', 'session_device']);
    }
    for (const society of ['alpha', 'beta'] as const) {
      await setSociety(app, society);
      const member = await app.query<{ id: string; society_id: string }>("select id, society_id from member where user_id = 'same.001'");
      expect(member.rows).toEqual([{ id: ids[society], society_id: society }]);
    }
    expect(await count(owner, 'member', "user_id = 'same.001'")).toBe(2);
    // Within one society the user ID is still unique.
    await setSociety(app, 'alpha');
    const [again, params] = ROWS.member(null, randomUUID(), 'same.001');
    expect(await errorCode(() => app.query(again, params))).toBe('23505');
  });

  describe('through the application’s own connections (Sql.pool, the unit of work)', () => {
    let orm: Orm;
    let sql: Sql;
    beforeAll(async () => {
      // One connection, so that every statement reuses it: what it was set to last must never leak.
      orm = await openOrm(db.url, 1);
      sql = Sql.pool(orm);
    });
    afterAll(async () => {
      await orm?.close(true);
    });

    const userIds = () => sql.rows<{ user_id: string }>('select user_id from member where user_id = any($1::text[]) order by user_id', [['alpha', 'beta']]);

    it('sets the society of the work on the pooled connection, and none outside any', async () => {
      expect(currentSociety()).toBeUndefined();
      expect(await withSociety('alpha', userIds)).toEqual([{ user_id: 'alpha' }]);
      expect(await withSociety('beta', userIds)).toEqual([{ user_id: 'beta' }]);
      expect(await userIds()).toEqual([]);
      expect(await withSociety('alpha', userIds)).toEqual([{ user_id: 'alpha' }]);
      expect(await sql.forSociety('beta').rows('select user_id from member where user_id = $1', ['beta'])).toEqual([{ user_id: 'beta' }]);
      await expect(withSociety('alpha', () => sql.forSociety('beta').rows('select 1'))).rejects.toThrow(/society "beta" inside work for society "alpha"/);
      // The ORM's own reads go through the same pool.
      const viaOrm = (society?: string) => {
        const read = () => orm.em.fork().getConnection().execute<{ user_id: string }[]>("select user_id from member where user_id in ('alpha', 'beta')");
        return society ? withSociety(society, read) : read();
      };
      expect(await viaOrm('beta')).toEqual([{ user_id: 'beta' }]);
      expect(await viaOrm()).toEqual([]);
    });

    it('gives a request waiting for the connection its own society, not that of the request that released it', async () => {
      // alpha holds the only connection; beta and "no society" queue behind it.
      const holding = withSociety('alpha', () => sql.rows<{ user_id: string }>("select user_id, pg_sleep(0.3) from member where user_id in ('alpha', 'beta')"));
      const waiting = withSociety('beta', userIds);
      const none = userIds();
      expect((await holding).map((r) => r.user_id)).toEqual(['alpha']);
      expect(await waiting).toEqual([{ user_id: 'beta' }]);
      expect(await none).toEqual([]);
    });

    it('sets the society at the start of each transaction, and nothing carries over after it', async () => {
      const inTx = (society?: string) => {
        const work = () =>
          inTransaction(orm, async ({ sql: tx }) => ({
            setting: (await tx.one<{ s: string | null }>("select current_setting('app.society', true) as s"))!.s,
            rows: await tx.rows<{ user_id: string }>("select user_id from member where user_id in ('alpha', 'beta')"),
          }));
        return society ? withSociety(society, work) : work();
      };
      expect(await inTx('beta')).toEqual({ setting: 'beta', rows: [{ user_id: 'beta' }] });
      expect(await inTx()).toEqual({ setting: '', rows: [] });
      expect(await withSociety('alpha', userIds)).toEqual([{ user_id: 'alpha' }]);
      // Inserts inside a transaction take its society.
      await withSociety('beta', () => inTransaction(orm, ({ sql: tx }) => tx.run(...ROWS.login_lockout(null, '', 'tx-beta'))));
      expect((await owner.query("select society_id from login_lockout where subject = 'lo-tx-beta'")).rows).toEqual([{ society_id: 'beta' }]);
    });

    it('counts rate limits per society', async () => {
      const hit = (society: string) => withSociety(society, () => hitRateLimit(sql, 'login-ip:192.0.2.1', 2, 60));
      expect((await hit('alpha')).allowed).toBe(true);
      expect((await hit('alpha')).allowed).toBe(true);
      expect((await hit('alpha')).allowed).toBe(false);
      expect((await hit('beta')).allowed).toBe(true);
    });

    it('keeps the token read of the refresh grant and the revocation on their indexes under row-level security, with and without statistics', async () => {
      // Enough grants, sessions and members that a plan reading all of a society's would show.
      await owner.query(
        `
        insert into oidc_payload (society_id, model, id, payload, grant_id, uid, expires_at)
        select s, m, m || '-' || i, jsonb_build_object('accountId', $1::text, 'grantId', 'Grant-' || i, 'sessionUid', 'uid-' || i),
               'Grant-' || i, case when m = 'Session' then 'uid-' || i end, now() + interval '1 day'
        from generate_series(1, 3000) i, unnest(array['Session', 'Grant', 'RefreshToken']) m, unnest(array['alpha', 'beta']) s`,
        [members.alpha],
      );
      await owner.query(`
        insert into member (society_id, id, user_id, display_name, insurance_symbol, insurance_number, birthdate)
        select s, gen_random_uuid(), s || '.plan.' || i, '試験', '12', i::text, '1980-12-01' from generate_series(1, 600) i, unnest(array['alpha', 'beta']) s`);
      const lines = (rows: { 'QUERY PLAN': string }[]) => rows.map((r) => r['QUERY PLAN']).join('\n');
      // The plan for these values, and the generic plan a prepared statement settles on.
      const plans = (text: string, params: unknown[]) =>
        withSociety('alpha', async () => [lines(await sql.rows(`explain ${text}`, params)), lines(await sql.rows(`explain (generic_plan) ${text}`))]);
      const check = async (stats: string) => {
        for (const [i, token] of (await plans(TOKEN_WITH_CONTEXT, ['RefreshToken', 'RefreshToken-7'])).entries()) {
          const which = `${stats}, ${i ? 'generic' : 'custom'} plan`;
          expect({ which, scans: token.match(/Seq Scan|Hash|Rows Removed by Filter: \d{2,}/g) }).toEqual({ which, scans: null });
          expect({ which, grant: /Index Cond: .*\(id\)::text = \(cur.payload ->> 'grantId'/.test(token) }).toEqual({ which, grant: true });
          expect({ which, session: /Index Cond: .*\(uid\)::text = \(cur.payload ->> 'sessionUid'/.test(token) }).toEqual({ which, session: true });
          expect({ which, member: /member_pkey[^\n]*\n\s+Index Cond: \(id = CASE WHEN/.test(token) }).toEqual({ which, member: true });
        }
        for (const revoke of await plans('delete from oidc_payload where account_id = $1 and model = any($2::text[])', [members.alpha, ['Session', 'Grant']])) {
          expect({ stats, revoke: /Index Cond: \(\(account_id = /.test(revoke) }).toEqual({ stats, revoke: true });
        }
      };
      // Just filled, before any statistics (as after a bulk import, before autovacuum's analyze) …
      await check('no statistics');
      await owner.query('analyze oidc_payload');
      await owner.query('analyze member');
      // … and after.
      await check('statistics');
    });
  });
});
