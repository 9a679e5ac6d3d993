import { describe, it, expect } from '@jest/globals';
import { createTestDatabase } from '../support/database.js';
import { migrateAsOwner } from '../../src/db/roles.js';

describe('replicas starting at once on a new database', () => {
  it('migrate it once between them: the second waits for the first', async () => {
    const db = await createTestDatabase({ empty: true });
    try {
      const results = await Promise.allSettled([0, 1, 2].map(() => migrateAsOwner(db.ownerUrl, 'kosmo_app')));
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'migrated'))).toEqual(['migrated', 'migrated', 'migrated']);
    } finally {
      await db.drop();
    }
  });
});
