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
    const notFound = runCli(['member', 'show', 'nobody', '--society', 'kosmo'], db.url);
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

  it('takes the society: required for a member command when several are configured, and each society sees only its own members', () => {
    const missing = runCli(['member', 'show', 'anyone'], db.url);
    expect(missing.status).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('kosmo-admin: member show: --society is required: more than one society is configured (kosmo, sakura)');
    const unknown = runCli(['member', 'show', 'anyone', '--society=ume'], db.url);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('kosmo-admin: member show: --society: no society "ume" (configured: kosmo, sakura)');

    // The same user ID, added to sakura: kosmo has no such member.
    const added = runCli(
      [
        'member',
        'add',
        '--society',
        'sakura',
        '--user-id',
        'sakura0001',
        '--symbol',
        '34',
        '--number',
        '1234567',
        '--birthdate',
        '1990-03-03',
        '--name',
        'さくら 次郎',
      ],
      db.url,
    );
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(runCli(['member', 'show', 'sakura0001', '--society', 'sakura'], db.url).status).toBe(0);
    expect(runCli(['member', 'show', 'sakura0001', '--society', 'kosmo'], db.url).stderr).toBe('kosmo-admin: no member with user ID "sakura0001"\n');

    const list = runCli(['society', 'list'], db.url);
    expect(list.status).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^kosmo\tコスモ健康保険組合\thttp:\/\/localhost:\d+\/kosmo\t\d+ members?$/);
    expect(lines[1]).toMatch(/^sakura\tさくら健康保険組合\thttp:\/\/localhost:\d+\/sakura\t1 member$/);
  });

  it("keys rotate: a society's new keys, published now and signing after the grace period; a grace shorter than portals cache the JWKS is a usage error", () => {
    const rotated = runCli(['keys', 'rotate', '--society', 'sakura', '--grace', '3600'], db.url);
    expect(rotated.stderr).toBe('');
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toMatch(/^society sakura: new signing keys \S+ \(RS256\), \S+ \(ES256\): published now, signing from \d{4}-\d\d-\d\dT/);
    const short = runCli(['keys', 'rotate', '--society', 'kosmo', '--grace', '10'], db.url);
    expect(short.status).toBe(2);
    expect(short.stderr.split('\n')[0]).toMatch(/^kosmo-admin: keys rotate: --grace must be a whole number of seconds from \d+/);
  });
});
