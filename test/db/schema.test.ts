import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { openOrm, type Orm } from '../../src/db/orm.js';
import { createTestDatabase } from '../support/database.js';

describe('the entities and the hand-written migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let orm: Orm;
  beforeAll(async () => {
    db = await createTestDatabase();
    // As the owner: the catalog shows defaults and checks only to the owner of a table.
    orm = await openOrm(db.ownerUrl, 2);
  });
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });

  it('describe the same schema: the diff from the migrated database to the entities is empty', async () => {
    // Tables without an entity (oidc_payload, rate_limit …) are the adapter's and counters' own.
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false, dropTables: false });
    expect(diff.trim()).toBe('');
  });
});
