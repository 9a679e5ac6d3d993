import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { render } from '../render.js';

/**
 * PostgreSQL did not answer in time or could not be reached (src/db/orm.ts sets the timeouts): the
 * request cannot be served now, but nothing is wrong with it.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  // 57014 statement timeout, 57P01-03 shutdown/cannot connect now, 08xxx connection exceptions.
  if (
    e.code &&
    (e.code === '57014' || e.code.startsWith('57P') || e.code.startsWith('08') || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code))
  )
    return true;
  return /Query read timeout|timeout exceeded when trying to connect|Connection terminated|connection timeout/i.test(e.message ?? '');
}

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
