import type { Config } from '../config/index.js';
import type { Sql } from '../db/sql.js';

/** What every database command is handed: the loaded Config and SQL on a migrated database. */
export interface AdminDeps {
  sql: Sql;
  config: Config;
}
