import { createHash } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Pool, QueryResult } from 'pg';
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
  /** The ORM's pg pool; unset inside `transaction`, whose statements stay on its own connection. */
  private readonly nativePool?: () => Promise<Pool>;

  constructor(orm: Orm) {
    const connection = orm.em.getConnection();
    this.client = connection.getClient() as Kysely<unknown>;
    let pool: Promise<Pool> | undefined;
    this.nativePool = () => (pool ??= connection.getNativeClient());
  }

  async rows<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.execute<T>(text, params)).rows;
  }

  async one<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(text, params))[0];
  }

  async run(text: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.execute(text, params)).affected;
  }

  /** Runs `fn` in one transaction; everything it writes lands together or not at all. */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.client.transaction().execute(async (trx) => {
      const tx = Object.create(Sql.prototype) as Sql;
      (tx as unknown as { client: Kysely<unknown> }).client = trx;
      return fn(tx);
    });
  }

  /**
   * Outside a transaction, a statement with parameters runs as a named prepared statement on the
   * pool's connection: PostgreSQL parses and plans it once per connection instead of on every call,
   * which roughly halves its CPU time for the adapter's short lookups and upserts (test/bench).
   */
  private async execute<T>(text: string, params: readonly unknown[]): Promise<{ rows: T[]; affected: number }> {
    const name = this.nativePool && params.length > 0 ? preparedName(text) : undefined;
    if (name) {
      const result: QueryResult = await (await this.nativePool!()).query({ name, text, values: params as unknown[] });
      return { rows: result.rows as T[], affected: WRITES.has(result.command) ? result.rowCount ?? 0 : 0 };
    }
    const result = await this.client.executeQuery<T>(CompiledQuery.raw(text, params as unknown[]));
    return { rows: result.rows, affected: Number(result.numAffectedRows ?? 0) };
  }
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
