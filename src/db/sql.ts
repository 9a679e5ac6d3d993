import { CompiledQuery, type Kysely } from 'kysely';
import type { Orm } from './orm.js';

/** The driver hands timestamps back as strings; lockout rules want dates. */
export function toDate(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}

/**
 * Parameterised SQL ($1, $2 …) on the ORM's own pool, for the few hot or set-based paths
 * (the oidc-provider adapter, counters, bulk import) where an entity round-trip adds nothing.
 */
export class Sql {
  private readonly client: Kysely<unknown>;
  constructor(orm: Orm) {
    this.client = orm.em.getConnection().getClient() as Kysely<unknown>;
  }

  async rows<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.client.executeQuery<T>(CompiledQuery.raw(text, params as unknown[]));
    return result.rows;
  }

  async one<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(text, params))[0];
  }

  async run(text: string, params: readonly unknown[] = []): Promise<number> {
    const result = await this.client.executeQuery(CompiledQuery.raw(text, params as unknown[]));
    return Number(result.numAffectedRows ?? 0);
  }

  /** Runs `fn` in one transaction; everything it writes lands together or not at all. */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.client.transaction().execute(async (trx) => {
      const tx = Object.create(Sql.prototype) as Sql;
      (tx as unknown as { client: Kysely<unknown> }).client = trx;
      return fn(tx);
    });
  }
}
