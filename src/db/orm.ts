import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities/index.js';
import { migrationsList } from '../../migrations/index.js';

export type Orm = MikroORM;

/** One MikroORM per process; each request forks its own EntityManager from it. */
export async function openOrm(databaseUrl: string, poolMax = 10): Promise<Orm> {
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    pool: { min: 0, max: poolMax },
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    debug: false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
  });
}

export async function migrate(orm: Orm): Promise<void> {
  await orm.migrator.up();
}
