import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { openAdminTestDatabase, type AdminTestDatabase } from './admin-database.js';
import { ownerUrlFor } from '../support/database.js';

/** The real `npm run admin` entry point, as a child process. */
function runCli(args: string[], databaseUrl: string) {
  const { NODE_OPTIONS: _jestOnly, ...env } = process.env;
  const result = spawnSync(path.resolve('node_modules/.bin/tsx'), ['src/admin/cli.ts', ...args], {
    env: { ...env, NODE_ENV: 'test', DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: ownerUrlFor(databaseUrl), DATA_DIR: '.data/test', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the admin CLI as a process', () => {
  let db: AdminTestDatabase;
  beforeAll(async () => {
    db = await openAdminTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('exits 1 with one line and no stack trace for an unknown member, and 2 for a usage error', () => {
    const notFound = runCli(['member', 'show', 'nobody'], db.url);
    expect(notFound.stderr).toBe('kosmo-admin: no member with user ID "nobody"\n');
    expect(notFound.stdout).toBe('');
    expect(notFound.status).toBe(1);

    const usage = runCli(['member', 'show'], db.url);
    expect(usage.status).toBe(2);
    expect(usage.stderr.split('\n')[0]).toBe('kosmo-admin: member show: missing USER_ID');
    expect(usage.stderr).not.toMatch(/\n\s+at /);

    const unknown = runCli(['member', 'delete', 'x'], db.url);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('kosmo-admin: unknown command "member delete"');
  });
});
