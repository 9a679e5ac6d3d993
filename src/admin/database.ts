import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { EMBEDDED_APP_ROLE, embeddedAppPassword, startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { ADMIN_TIMEOUTS, type Orm } from '../db/orm.js';
import { checkApplicationRole, openApplicationDatabase, type DatabaseUrls } from '../db/roles.js';
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
 * DATABASE_URL when set (migrated as MIGRATION_DATABASE_URL). Otherwise (development) the embedded
 * database: the dev server's, when it is running, or one started for the duration of the command,
 * with the same data directory and port. The commands run as the application role, like the server.
 */
export async function openAdminDatabase(config: Config, embeddedPort: number): Promise<AdminDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let urls: DatabaseUrls | undefined =
    config.databaseUrl && config.migrationDatabaseUrl ? { appUrl: config.databaseUrl, ownerUrl: config.migrationDatabaseUrl } : undefined;
  let description = 'DATABASE_URL';
  if (!urls) {
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
      const at = `127.0.0.1:${embeddedPort}/kosmo`;
      urls = {
        ownerUrl: `postgres://kosmo:${encodeURIComponent(password)}@${at}`,
        appUrl: `postgres://${EMBEDDED_APP_ROLE}:${encodeURIComponent(embeddedAppPassword(dir))}@${at}`,
      };
    } else {
      try {
        embedded = await startEmbeddedPostgres(dir, embeddedPort);
      } catch (err) {
        throw new AdminEnvironmentError(`cannot start ${description}: ${(err as Error).message}`);
      }
      urls = { ownerUrl: embedded.ownerUrl, appUrl: embedded.appUrl };
    }
  }
  let orm: Orm;
  try {
    // What openDatabase and createIdp in src/idp.ts do, without loading the provider and the web app.
    orm = await openApplicationDatabase(urls, 4, ADMIN_TIMEOUTS);
    await checkApplicationRole(orm).catch(async (err: unknown) => {
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
