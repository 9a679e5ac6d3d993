import Router from '@koa/router';
import type { Sql } from '../db/sql.js';

/** /healthz: the process is up. /readyz: it can reach its database. */
export function healthRouter(sql: Sql): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await sql.one('select 1');
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'database unavailable' };
    }
  });
  return router;
}
