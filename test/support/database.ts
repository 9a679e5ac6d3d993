import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Where the test server is (test/support/global-setup.mjs): `adminUrl` as the owner role `kosmo`
 * (initdb's superuser) on the maintenance database, `appUrl` as the application role `kosmo_app`
 * on the template, which every test database is cloned from (grants included).
 */
function testServer(): { adminUrl: string; appUrl: string; templateDb: string } {
  return JSON.parse(readFileSync(process.env.KOSMO_TEST_DB_JSON ?? path.resolve('.data/test/db.json'), 'utf8')) as {
    adminUrl: string;
    appUrl: string;
    templateDb: string;
  };
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

const withDatabase = (url: string, name: string) => url.replace(/\/[^/]+$/, `/${name}`);

/** `url` (a test database, perhaps through a proxy) with the owner's credentials instead of the application role's. */
export function ownerUrlFor(url: string): string {
  const owner = new URL(testServer().adminUrl);
  const target = new URL(url);
  target.username = owner.username;
  target.password = owner.password;
  return target.toString();
}

export interface TestDatabase {
  /** As the application role, as the server connects: row-level security applies. */
  url: string;
  /** As the owner (a superuser here): for setting up what the application could not, and for the schema. */
  ownerUrl: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * A fresh database cloned from the migrated template: each test file gets its own. `empty`: a
 * database with nothing in it, not even the migrations (to migrate it step by step).
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const { adminUrl, appUrl, templateDb } = testServer();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await asDatabaseAdmin((admin) => admin.query(options.empty ? `create database ${name}` : `create database ${name} template ${templateDb}`));
  return {
    url: withDatabase(appUrl, name),
    ownerUrl: withDatabase(adminUrl, name),
    name,
    async drop() {
      await asDatabaseAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** Runs `fn` on the database of `url` as its owner: for what the application role may not do (DDL, a trigger to inject a failure). */
export async function asDatabaseOwner<T>(url: string, fn: (owner: pg.Client) => Promise<T>): Promise<T> {
  const owner = new pg.Client({ connectionString: ownerUrlFor(url) });
  await owner.connect();
  try {
    return await fn(owner);
  } finally {
    await owner.end();
  }
}
