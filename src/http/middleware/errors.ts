import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { render } from '../render.js';
import { isDatabaseUnavailable } from '../../db/sql.js';

/** Bugs become a logged error and a calm page; no stack trace or detail reaches the member. */
export function errorPages(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && !ctx.body) render(ctx, 'error', { title: 'error.not_found_title', message: 'error.not_found' }, 404);
    } catch (err) {
      // PostgreSQL frozen or gone: a quick, calm 503 ("try again later") instead of a hang or a bug page.
      if (isDatabaseUnavailable(err)) {
        log.error({ err, path: ctx.path, method: ctx.method }, 'database unavailable');
        ctx.set('Retry-After', '30');
        return render(ctx, 'error', { title: 'error.unavailable_title', message: 'error.unavailable' }, 503);
      }
      const status = (err as { status?: number }).status ?? 500;
      if (status >= 500) log.error({ err, path: ctx.path, method: ctx.method }, 'unhandled error');
      const expose = status < 500 && (err as { expose?: boolean }).expose;
      render(ctx, 'error', { title: 'error.title', message: expose && status === 413 ? 'error.too_large' : 'error.generic' }, status);
    }
  };
}
