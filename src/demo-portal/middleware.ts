import type Koa from 'koa';
import type { Logger } from 'pino';
import { z } from 'zod';
import { LOCALES, pickLocale } from '../i18n/index.js';
import type { PortalPages } from './pages.js';
import { ProviderUnreachableError } from './provider-client.js';

const LANG_COOKIE = 'portal.lang';
const langQuery = z.object({ lang: z.enum(LOCALES).optional() });

/** No script at all, styles only from our own stylesheet, never framed. */
export function securityHeaders(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    await next();
  };
}

/** Japanese unless the member picked English with ?lang=en (remembered in a cookie). */
export function portalLocale(): Koa.Middleware {
  return async (ctx, next) => {
    const asked = langQuery.safeParse(ctx.query).data?.lang;
    if (asked) ctx.cookies.set(LANG_COOKIE, asked, { httpOnly: true, sameSite: 'lax', secure: ctx.secure });
    ctx.state.locale = pickLocale(asked ?? ctx.cookies.get(LANG_COOKIE));
    await next();
  };
}

/** Every failure becomes a page in the member's language; details go to the log only. */
export function errorPages(pages: PortalPages, logger?: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) pages.render(ctx, 'error.njk', { message: 'portal.error.not_found' }, 404);
    } catch (err) {
      // Koa's own 4xx errors (ctx.throw) are exposable; anything else is a bug or an outage.
      const { status, expose } = err as { status?: number; expose?: boolean };
      if (err instanceof ProviderUnreachableError) {
        logger?.warn({ err }, 'demo portal: provider unreachable');
        pages.render(ctx, 'error.njk', { message: 'portal.error.unreachable' }, 503);
      } else if (expose && status && status < 500) {
        pages.render(ctx, 'error.njk', { message: 'portal.error.bad_request' }, status);
      } else {
        logger?.error({ err }, 'demo portal: unexpected error');
        pages.render(ctx, 'error.njk', { message: 'portal.error.generic' }, 500);
      }
    }
  };
}
