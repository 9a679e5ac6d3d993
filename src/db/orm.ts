import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities/index.js';
import { migrationsList } from '../../migrations/index.js';
import { setSocietyOnCheckout } from './society.js';

export type Orm = MikroORM;

/**
 * How long the server waits on PostgreSQL before it gives up, so that a frozen or unreachable
 * database turns into a quick error page and a 503 from /readyz instead of requests that hang.
 * `statementMs` is enforced by PostgreSQL (slow statements, lock waits); `readMs` by the driver,
 * for a server that does not answer at all; `connectMs` covers a new connection and waiting for a
 * free one in the pool. The admin CLI allows longer statements for bulk imports.
 */
export interface DatabaseTimeouts {
  connectMs: number;
  statementMs: number;
  readMs: number;
}

/** Connections per process at most, and how long an unused one stays open (pg-pool's default: 10 s). */
export interface DatabasePool {
  size: number;
  idleSeconds?: number;
}
export const SERVER_TIMEOUTS: DatabaseTimeouts = { connectMs: 3000, statementMs: 5000, readMs: 6000 };
export const ADMIN_TIMEOUTS: DatabaseTimeouts = { connectMs: 10_000, statementMs: 600_000, readMs: 610_000 };

/**
 * One MikroORM per process; each request forks its own EntityManager from it. Every connection its
 * pool hands out carries the current society (src/db/society.ts).
 */
export async function openOrm(databaseUrl: string, pool: number | DatabasePool = 10, timeouts: DatabaseTimeouts = SERVER_TIMEOUTS): Promise<Orm> {
  const { size, idleSeconds } = typeof pool === 'number' ? { size: pool, idleSeconds: undefined } : pool;
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    pool: { min: 0, max: size, ...(idleSeconds === undefined ? {} : { idleTimeoutMillis: idleSeconds * 1000 }) },
    driverOptions: {
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      query_timeout: timeouts.readMs,
      onPoolCreated: setSocietyOnCheckout,
    },
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    debug: false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
  });
}

export async function migrate(orm: Orm): Promise<void> {
  await orm.migrator.up();
}
