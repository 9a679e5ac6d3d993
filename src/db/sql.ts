import { createHash } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Pool, QueryResult } from 'pg';
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import type { Orm } from './orm.js';
import { currentSociety, SET_SOCIETY_IN_TRANSACTION, societySetting, withSociety } from './society.js';

/** A unique constraint refused the write (another request got there first), optionally a named one. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | undefined;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** The driver hands timestamps back as strings; lockout rules want dates. */
export function toDate(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}

/**
 * Parameterised SQL ($1, $2 …). Two kinds:
 * - `Sql.pool(orm)`: on the ORM's pool, as named prepared statements. Kept only for the hot paths the
 *   benchmark justifies (the oidc-provider adapter, rate-limit counters, the password lookup, the login
 *   pipeline's credential check):
 *   PostgreSQL plans each once per connection, which roughly halves their CPU time (test/bench).
 * - `Sql.bound(em)`: through the Kysely instance bound to an EntityManager, so inside
 *   `inTransaction` (src/db/unit-of-work.ts) a hand-written statement joins the entities' transaction.
 *
 * Every statement runs for the current society (src/db/society.ts): the pool sets it on the
 * connection at checkout, a transaction sets it first thing. `forSociety(id)` gives a Sql whose
 * statements run for `id` wherever they are called from (start-up work, the tests).
 */
export class Sql {
  private constructor(
    private readonly kysely: () => Kysely<unknown>,
    /** Where a transaction starts: the ORM (a fresh EntityManager) or the bound EntityManager (a savepoint). */
    private readonly transactionRoot: () => EntityManager,
    /** The ORM's pg pool, for prepared statements; unset for a bound Sql. */
    private readonly nativePool?: () => Promise<Pool>,
    /** Set by `forSociety`: the society every statement runs for. */
    private readonly society?: string,
  ) {}

  static pool(orm: Orm): Sql {
    const connection = orm.em.getConnection();
    const client = connection.getClient() as Kysely<unknown>;
    let pool: Promise<Pool> | undefined;
    return new Sql(
      () => client,
      () => orm.em.fork(),
      () => (pool ??= connection.getNativeClient()),
    );
  }

  /** Statements that run in `em`'s transaction, when it has one. */
  static bound(em: EntityManager): Sql {
    return new Sql(
      () => (em as SqlEntityManager).getKysely() as unknown as Kysely<unknown>,
      () => em,
    );
  }

  /**
   * The same statements, always run for society `id` (inside work for another society, they
   * refuse to run: a statement never quietly switches society).
   */
  forSociety(id: string): Sql {
    return new Sql(this.kysely, this.transactionRoot, this.nativePool, id);
  }

  /** The society its statements run for: the one `forSociety` named, else the current work's. */
  societyId(): string | undefined {
    return this.society ?? currentSociety();
  }

  async rows<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.inSociety(() => this.execute<T>(text, params))).rows;
  }

  async one<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(text, params))[0];
  }

  async run(text: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.inSociety(() => this.execute(text, params))).affected;
  }

  /**
   * Runs `fn` in one transaction of the unit of work (src/db/unit-of-work.ts); everything it writes,
   * through `tx` or through `em`, lands together or not at all. Inside a transaction, a savepoint.
   */
  async transaction<T>(fn: (tx: Sql, em: EntityManager) => Promise<T>): Promise<T> {
    return this.inSociety(() => societyTransaction(this.transactionRoot(), (em) => fn(Sql.bound(em), em)));
  }

  private inSociety<T>(fn: () => Promise<T>): Promise<T> {
    if (this.society === undefined) return fn();
    const current = currentSociety();
    if (current !== undefined && current !== this.society) {
      return Promise.reject(new Error(`a statement for society "${this.society}" inside work for society "${current}"`));
    }
    return withSociety(this.society, fn);
  }

  private async execute<T>(text: string, params: readonly unknown[]): Promise<{ rows: T[]; affected: number }> {
    const name = this.nativePool && params.length > 0 ? preparedName(text) : undefined;
    if (name) {
      const result: QueryResult = await (await this.nativePool!()).query({ name, text, values: params as unknown[] });
      return { rows: result.rows as T[], affected: WRITES.has(result.command) ? (result.rowCount ?? 0) : 0 };
    }
    const result = await this.kysely().executeQuery<T>(CompiledQuery.raw(text, params as unknown[]));
    return { rows: result.rows, affected: Number(result.numAffectedRows ?? 0) };
  }
}

/**
 * `em.transactional(fn)` whose transaction first sets the current society for itself
 * (`set_config(…, true)`); inside a transaction already (a savepoint), the society is already set.
 */
export function societyTransaction<T>(root: EntityManager, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  if (root.isInTransaction()) return root.transactional(fn);
  return root.transactional(async (em) => {
    await (em as SqlEntityManager).getKysely().executeQuery(CompiledQuery.raw(SET_SOCIETY_IN_TRANSACTION, [societySetting()]));
    return fn(em);
  });
}

const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Statement texts are constants in the code; the cap keeps any generated text from growing the set. */
const MAX_PREPARED_STATEMENTS = 500;
const preparedNames = new Map<string, string>();

function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (!name && preparedNames.size < MAX_PREPARED_STATEMENTS) {
    name = `kosmo_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return name;
}
