import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from './orm.js';
import { Sql, societyTransaction } from './sql.js';

/**
 * One change of the application: the EntityManager is the unit of work, and `sql` runs hand-written
 * statements on the same connection and transaction. Functions that change a member take a `Work`.
 */
export interface Work {
  em: EntityManager;
  sql: Sql;
}

/**
 * Runs `fn` as one transaction: entities flushed and statements run by it commit together, or none
 * do. The transaction first sets the current society (src/db/society.ts) for itself.
 */
export function inTransaction<T>(orm: Orm, fn: (work: Work) => Promise<T>): Promise<T> {
  return societyTransaction(orm.em.fork(), (em) => fn({ em, sql: Sql.bound(em) }));
}

/** A read-only view for code that takes a `Work` outside any change (each statement on its own). */
export function outsideTransaction(orm: Orm): Work {
  const em = orm.em.fork();
  return { em, sql: Sql.bound(em) };
}
