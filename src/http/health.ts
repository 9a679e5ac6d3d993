import Router from '@koa/router';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';

/** /readyz answers within this bound even when PostgreSQL does not answer at all. */
export const READY_TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Resolves when the database answers `select 1` within READY_TIMEOUT_MS (also the management port's /health/ready). */
export async function databaseAnswers(sql: Sql): Promise<void> {
  await within(sql.one('select 1'), READY_TIMEOUT_MS);
}

/** /healthz: the process is up. /readyz: it can reach its database, within READY_TIMEOUT_MS. */
export function healthRouter(sql: Sql, log?: Logger): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await databaseAnswers(sql);
      ctx.body = { status: 'ready' };
    } catch (err) {
      log?.warn({ err }, 'not ready: database unavailable');
      ctx.status = 503;
      ctx.body = { status: 'database unavailable' };
    }
  });
  return router;
}
