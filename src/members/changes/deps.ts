import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { Orm } from '../../db/orm.js';
import type { Sql } from '../../db/sql.js';
import type { Locale } from '../../i18n/index.js';
import type { PasswordHasher } from '../password.js';

/** What a named change is built from: the database, the mailer for its notice, the log for a notice not delivered. */
export interface ChangeDeps {
  config: Config;
  orm: Orm;
  sql: Sql;
  hasher: PasswordHasher;
  mail: { send(message: { to: string; template: string; locale: Locale; vars: Record<string, unknown> }): Promise<{ ok: boolean }> };
  log: Logger;
}

/**
 * What the application is built from: the HTTP routes are handed it, named changes take it, and
 * `flowDeps` (src/members/ports.ts) narrows it to the ports flows, steps and factors get.
 */
export type AppDeps = ChangeDeps;

/** The member a notice mail goes to, as the page loaded them. */
export interface NoticeMember {
  id: string;
  email?: string | null;
  emailVerified: boolean;
  displayName: string;
  locale: string;
}
