import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pool, PoolClient } from 'pg';

/**
 * The society (健康保険組合) every row of a society-owned table belongs to, enforced by PostgreSQL:
 * each such table has `society_id` (filled from the connection's `app.society` on insert) and a
 * row-level security policy that shows and accepts only rows of `app.society`. The application's
 * database role cannot bypass it (see README, "Database roles").
 *
 * The society a piece of work runs for is an AsyncLocalStorage value: `withSociety(id, fn)` at
 * each entry point (an HTTP request, the admin CLI, the cleanup timer, start-up), read by every
 * use of a connection. Work with no society set sees no rows and cannot insert any: it is never
 * given a default one.
 */

/** The society of a deployment that serves one: existing rows were moved into it by the migration. */
export const DEFAULT_SOCIETY = 'kosmo';

/** Every table whose rows belong to a society: row-level security on each (test/db/isolation.test.ts). */
export const SOCIETY_TABLES = [
  'member',
  'credential',
  'one_time_code',
  'recovery_code',
  'member_event',
  'email_verification',
  'password_reset',
  'session_device',
  'rate_limit',
  'login_lockout',
  'oidc_payload',
  'signing_key',
  'dev_mail',
  'backchannel_logout',
] as const;

/** The society of the connection: none when `app.society` is unset or ''. */
const CONNECTION_SOCIETY = "nullif(current_setting('app.society', true), '')";

/**
 * The row-level security of a society table (the migration creates it; entities declare it so that
 * they and the migrations agree): rows of the connection's society only, to read and to write.
 */
export const SOCIETY_POLICY = {
  name: 'society_isolation',
  using: `society_id = ${CONNECTION_SOCIETY}`,
  check: `society_id = ${CONNECTION_SOCIETY}`,
} as const;

const current = new AsyncLocalStorage<string>();

/** Runs `fn` for society `id`: every statement it sends, directly or through awaited work, sees only that society's rows. */
export function withSociety<T>(id: string, fn: () => T): T {
  if (typeof id !== 'string' || id === '') throw new Error('withSociety: a society id is required');
  return current.run(id, fn);
}

/** The society the current work runs for; undefined outside `withSociety` (statements then see nothing). */
export function currentSociety(): string | undefined {
  return current.getStore();
}

/**
 * What `app.society` is set to for the current work: '' when there is none, which the policies
 * read as no society (they compare with `nullif(current_setting('app.society', true), '')`).
 */
export function societySetting(): string {
  return current.getStore() ?? '';
}

/** Sets the society for the rest of the transaction it runs in (`is_local`: it ends with the transaction). */
export const SET_SOCIETY_IN_TRANSACTION = "select set_config('app.society', $1, true)";
const SET_SOCIETY_ON_CONNECTION = "select set_config('app.society', $1, false)";

/** The `app.society` each pooled connection was last given at checkout. */
const connectionSociety = new WeakMap<PoolClient, string>();

/**
 * Makes every connection handed out by `pool` carry the current society: `pool.connect()` (what
 * Kysely and therefore the ORM use, and what `pool.query()` uses for the prepared statements of
 * `Sql.pool`) sets `app.society` on the connection, at session level, before handing it over. Each
 * connection remembers what it was last given, so a checkout for the same society as last time
 * costs nothing: one deployment serving one society sets it once per connection.
 *
 * The society is read when `connect()` is called, in the caller's context: a caller that waits for
 * a connection another request releases still gets its own society, not the releaser's. A
 * connection whose setting fails is destroyed, never handed out with the previous society.
 */
export function setSocietyOnCheckout(pool: Pool): void {
  const checkout = pool.connect.bind(pool) as () => Promise<PoolClient>;
  const connect = async (): Promise<PoolClient> => {
    const wanted = societySetting();
    const client = await checkout();
    if (connectionSociety.get(client) === wanted) return client;
    try {
      await client.query(SET_SOCIETY_ON_CONNECTION, [wanted]);
    } catch (err) {
      client.release(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    connectionSociety.set(client, wanted);
    return client;
  };
  // pg-pool's own query() calls this.connect(callback); Kysely calls connect() for a promise.
  (pool as unknown as { connect: unknown }).connect = (callback?: (err: Error | undefined, client?: PoolClient, done?: PoolClient['release']) => void) => {
    const checkedOut = connect();
    if (!callback) return checkedOut;
    checkedOut.then(
      (client) => callback(undefined, client, client.release),
      (err: Error) => callback(err),
    );
    return undefined;
  };
}
