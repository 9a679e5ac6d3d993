import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { ADMIN_TIMEOUTS, migrate, openOrm, type Orm } from '../db/orm.js';
import { Sql } from '../db/sql.js';
import { AdminEnvironmentError } from './result.js';

export interface AdminDatabase {
  sql: Sql;
  /** How the CLI reached the database, for the error message when it cannot. */
  description: string;
  close(): Promise<void>;
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * DATABASE_URL when set. Otherwise (development) the embedded database: the dev server's, when it
 * is running, or one started for the duration of the command, with the same data directory and port.
 */
export async function openAdminDatabase(config: Config, embeddedPort: number): Promise<AdminDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  let description = 'DATABASE_URL';
  if (!url) {
    const dir = path.join(config.dataDir, 'postgres');
    description = `the embedded database in ${dir} on port ${embeddedPort}`;
    if (await isListening(embeddedPort)) {
      const passwordFile = path.join(dir, 'password');
      if (!existsSync(passwordFile)) {
        throw new AdminEnvironmentError(
          `port ${embeddedPort} is in use but ${passwordFile} does not exist; set DATABASE_URL, or EMBEDDED_PG_PORT to the dev server's port`,
        );
      }
      const password = readFileSync(passwordFile, 'utf8').trim();
      url = `postgres://kosmo:${encodeURIComponent(password)}@127.0.0.1:${embeddedPort}/kosmo`;
    } else {
      try {
        embedded = await startEmbeddedPostgres(dir, embeddedPort);
      } catch (err) {
        throw new AdminEnvironmentError(`cannot start ${description}: ${(err as Error).message}`);
      }
      url = embedded.url;
    }
  }
  let orm: Orm;
  try {
    // What openDatabase in src/idp.ts does, without loading the provider and the web app.
    orm = await openOrm(url, 4, ADMIN_TIMEOUTS);
    await migrate(orm).catch(async (err: unknown) => {
      await orm.close(true);
      throw err;
    });
  } catch (err) {
    await embedded?.stop();
    throw new AdminEnvironmentError(`cannot open ${description}: ${(err as Error).message}`);
  }
  return {
    sql: Sql.pool(orm),
    description,
    async close() {
      await orm.close(true);
      await embedded?.stop();
    },
  };
}
