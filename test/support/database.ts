import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

function testServer(): { adminUrl: string; templateDb: string } {
  return JSON.parse(readFileSync(process.env.KOSMO_TEST_DB_JSON ?? path.resolve('.data/test/db.json'), 'utf8')) as { adminUrl: string; templateDb: string };
}

/** Runs `fn` connected to the test server's maintenance database, as its superuser. */
export async function asDatabaseAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: testServer().adminUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** A fresh database cloned from the migrated template: each test file gets its own. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const { adminUrl, templateDb } = testServer();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await asDatabaseAdmin((admin) => admin.query(`create database ${name} template ${templateDb}`));
  return {
    url: adminUrl.replace(/\/[^/]+$/, `/${name}`),
    name,
    async drop() {
      await asDatabaseAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}
