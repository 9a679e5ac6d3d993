import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openOrm, type Orm } from '../../src/db/orm.js';
import { Sql } from '../../src/db/sql.js';
import type { AdminDeps } from '../../src/admin/deps.js';
import { DEFAULT_SOCIETY } from '../../src/db/society.js';
import { createTestDatabase } from '../support/database.js';

export interface AdminTestDatabase {
  url: string;
  deps: AdminDeps;
  orm: Orm;
  close(): Promise<void>;
}

/** A fresh migrated database with what the admin commands are handed: SQL on it and a Config. */
export async function openAdminTestDatabase(): Promise<AdminTestDatabase> {
  const db = await createTestDatabase();
  const orm = await openOrm(db.url, 4);
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    MIGRATION_DATABASE_URL: db.ownerUrl,
    DATA_DIR: '.data/test',
    LOG_LEVEL: 'silent',
    COOKIE_KEYS: 'test-cookie-key-0123456789abcdefghijklmnop',
    SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
  });
  return {
    url: db.url,
    // As the CLI runs its commands: for the default society (src/admin/cli.ts).
    deps: { sql: Sql.pool(orm).forSociety(DEFAULT_SOCIETY), config },
    orm,
    async close() {
      await orm.close(true);
      await db.drop();
      for (const dir of csvDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const csvDirs: string[] = [];

/** Writes a CSV to a temporary file (removed by `close`) and returns its path. */
export function writeCsv(lines: string[], name = 'members.csv'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmo-admin-'));
  csvDirs.push(dir);
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export const CSV_HEADER = 'user_id,symbol,number,birthdate,name,email';
