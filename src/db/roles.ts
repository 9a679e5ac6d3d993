import { CompiledQuery, type Kysely } from 'kysely';
import { migrate, openOrm, SERVER_TIMEOUTS, type DatabasePool, type DatabaseTimeouts, type Orm } from './orm.js';
import { SOCIETY_TABLES } from './society.js';

/**
 * Two database roles (README, "Database roles"):
 * - the owner: owns the schema's tables and runs the migrations (MIGRATION_DATABASE_URL, or the
 *   embedded database's `kosmo`);
 * - the application role: what the server and the admin CLI connect as (DATABASE_URL, or the embedded
 *   database's `kosmo_app`). It owns nothing, is neither superuser nor BYPASSRLS, and has only the
 *   grants below, so the row-level security of the society tables holds for everything it runs.
 */
export interface DatabaseUrls {
  /** The owner role: migrations. */
  ownerUrl: string;
  /** The application role: everything else. */
  appUrl: string;
}

export class DatabaseRoleError extends Error {}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function query<T>(orm: Orm, text: string, params: unknown[] = []): Promise<T[]> {
  const kysely = orm.em.getConnection().getClient() as Kysely<unknown>;
  return (await kysely.executeQuery<T>(CompiledQuery.raw(text, params))).rows;
}

/**
 * As the owner, after the migrations: what the application role may do. Reading and writing rows of
 * every table but the migrations' own, and drawing from their sequences; nothing else (no DDL, no
 * TRUNCATE, no ownership). Run after every migration, so a new table is granted as it lands.
 */
export async function grantApplicationRole(owner: Orm, role: string): Promise<void> {
  const [schema] = await query<{ name: string }>(owner, 'select current_schema() as name');
  const objects = await query<{ name: string; kind: string }>(
    owner,
    `select c.relname as name, c.relkind as kind from pg_class c
     where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p', 'S') and c.relname not like 'mikro\\_orm\\_migrations%'
     order by c.relname`,
  );
  const tables = objects.filter((o) => o.kind !== 'S').map((o) => quoteIdent(o.name));
  const sequences = objects.filter((o) => o.kind === 'S').map((o) => quoteIdent(o.name));
  await query(owner, `grant usage on schema ${quoteIdent(schema!.name)} to ${quoteIdent(role)}`);
  if (tables.length > 0) await query(owner, `grant select, insert, update, delete on table ${tables.join(', ')} to ${quoteIdent(role)}`);
  if (sequences.length > 0) await query(owner, `grant usage on sequence ${sequences.join(', ')} to ${quoteIdent(role)}`);
}

/**
 * Refuses (one line) an application role that could see past row-level security: a superuser, a
 * BYPASSRLS role, the owner of a table (or a member of its owner), or a society table without
 * FORCE ROW LEVEL SECURITY.
 */
export async function checkApplicationRole(app: Orm): Promise<void> {
  const [row] = await query<{ role: string; superuser: boolean; bypassrls: boolean; owned: string | null; unprotected: string | null }>(
    app,
    `select r.rolname as role, r.rolsuper as superuser, r.rolbypassrls as bypassrls,
       (select string_agg(c.relname, ', ' order by c.relname) from pg_class c
        where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p', 'S') and pg_has_role(current_user, c.relowner, 'MEMBER')) as owned,
       (select string_agg(t.name, ', ' order by t.name) from unnest($1::text[]) as t(name)
        left join pg_class c on c.relname = t.name and c.relnamespace = current_schema()::regnamespace
        where c.oid is null or not c.relrowsecurity or not c.relforcerowsecurity) as unprotected
     from pg_roles r where r.rolname = current_user`,
    [[...SOCIETY_TABLES]],
  );
  const problems = [
    row?.superuser ? 'is a superuser' : '',
    row?.bypassrls ? 'has BYPASSRLS' : '',
    row?.owned ? `owns (or may act as the owner of) ${row.owned}` : '',
    row?.unprotected ? `finds no forced row-level security on ${row.unprotected} (are the migrations applied?)` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new DatabaseRoleError(
      `the application's database role "${row?.role}" ${problems.join('; ')}: connect as a role that owns nothing and cannot bypass row-level security (README, "Database roles")`,
    );
  }
}

/** The role the application connects as. */
export async function applicationRoleName(app: Orm): Promise<string> {
  const [row] = await query<{ role: string }>(app, 'select current_user as role');
  return row!.role;
}

/** Any number, the same in every process: the session-level advisory lock the migrations run under. */
const MIGRATION_LOCK = 7_121_021;

/**
 * Applies the migrations as the owner and grants the application role what it needs. Replicas that
 * start at once (a deployment scaled out, a rolling update) migrate one after the other: each takes
 * an advisory lock first, on the owner's only connection (a pool of one), and the next finds nothing
 * left to apply.
 */
export async function migrateAsOwner(ownerUrl: string, appRole: string, timeouts: DatabaseTimeouts = SERVER_TIMEOUTS): Promise<void> {
  const owner = await openOrm(ownerUrl, 1, { ...timeouts, statementMs: Math.max(timeouts.statementMs, 60_000), readMs: Math.max(timeouts.readMs, 61_000) });
  try {
    const [me] = await query<{ role: string }>(owner, 'select current_user as role');
    if (me!.role === appRole) {
      throw new DatabaseRoleError(
        `MIGRATION_DATABASE_URL and DATABASE_URL both connect as "${appRole}": the application needs a role of its own that owns nothing (README, "Database roles")`,
      );
    }
    await query(owner, 'select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(owner);
      await grantApplicationRole(owner, appRole);
    } finally {
      await query(owner, 'select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await owner.close(true);
  }
}

/**
 * The application's ORM on a migrated database: opens it as the application role, applies the
 * migrations as the owner (and the grants), and returns the application's ORM.
 */
export async function openApplicationDatabase(
  urls: DatabaseUrls,
  pool: number | DatabasePool = 10,
  timeouts: DatabaseTimeouts = SERVER_TIMEOUTS,
): Promise<Orm> {
  const app = await openOrm(urls.appUrl, pool, timeouts);
  try {
    await migrateAsOwner(urls.ownerUrl, await applicationRoleName(app), timeouts);
  } catch (err) {
    await app.close(true);
    throw err;
  }
  return app;
}
