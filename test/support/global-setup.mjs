// One real PostgreSQL for the whole jest run and a template database with every migration applied;
// each test file clones the template (test/support/database.ts). The server is started by the same
// code as `npm start` (src/db/embedded.ts: as root it runs as the postgres user, also from a 0700
// folder), loaded through tsx because jest loads this file outside its TypeScript transform.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';

// One directory per run, so two runs at once (two engineers, or CI beside a developer) do not collide.
const STATE_DIR = path.resolve('.data/test', String(process.pid));
const TEMPLATE_DB = 'kosmo_template';

export default async function globalSetup() {
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  const { startEmbeddedPostgres } = await tsImport('../../src/db/embedded.ts', import.meta.url);
  const port = 55000 + Math.floor(Math.random() * 2000);
  const server = await startEmbeddedPostgres(STATE_DIR, port, undefined, TEMPLATE_DB);
  globalThis.__kosmoPostgres = server;
  // Two roles, as in production: the owner `kosmo` migrates, the tests' servers connect as `kosmo_app`.
  const adminUrl = server.ownerUrl.replace(/\/[^/]+$/, '/postgres');
  execFileSync(path.resolve('node_modules/.bin/tsx'), ['test/support/migrate.ts', server.ownerUrl, server.appUrl], { stdio: 'inherit' });
  writeFileSync(path.join(STATE_DIR, 'db.json'), JSON.stringify({ adminUrl, appUrl: server.appUrl, templateDb: TEMPLATE_DB }));
  // Tests run in this process (--runInBand) and read where the database is from here.
  process.env.KOSMO_TEST_DB_JSON = path.join(STATE_DIR, 'db.json');
  globalThis.__kosmoStateDir = STATE_DIR;
}
