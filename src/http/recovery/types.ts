import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { Sql } from '../../db/sql.js';
import type { PasswordHasher } from '../../members/password.js';
import type { MailSender } from '../../steps/types.js';
import type { Orm } from '../../db/orm.js';

export interface RecoveryDeps {
  config: Config;
  sql: Sql;
  orm: Orm;
  hasher: PasswordHasher;
  mail: MailSender;
  log: Logger;
}

/**
 * Where a recovery page was opened: from a login screen (answer there, with the manual's notice)
 * or on its own (from a mail link that needs starting again).
 */
export interface RecoveryPlace {
  /** Shows the uniform answer on the login screen the member came from, or on its own page. */
  answer(ctx: Context, notice: string): void;
  /** The form's action and the 戻る link. */
  actionUrl: string;
  backUrl?: string;
}

export type T = (key: string, vars?: Record<string, string | number>) => string;
