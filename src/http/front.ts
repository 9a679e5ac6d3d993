import Koa from 'koa';
import type { Logger } from '../logger.js';
import type { Society } from '../config/index.js';
import { LOCALES, type Messages } from '../i18n/index.js';
import { SocietyRoutes } from './society-routing.js';
import { CookieKeys } from './cookie-keys.js';
import { measureRequest } from './request-metrics.js';
import { NO_SOCIETY } from '../ops/metrics.js';

/** A society's own app (src/http/app.ts), composed: run for a request already routed to it. */
export type SocietyHandler = (ctx: Koa.Context) => Promise<void>;

export interface FrontOptions {
  societies: readonly Society[];
  /** The society's handler, made when first needed and kept (src/idp.ts). */
  open(society: Society): Promise<SocietyHandler>;
  /** Where health checks are answered whatever host they name (a load balancer calls by IP). */
  health(ctx: Koa.Context): Promise<void>;
  /** True once the process stops taking work (SIGTERM): /readyz answers 503 so the load balancer moves on. */
  draining?: () => boolean;
  proxy: boolean;
  keys: string[];
  log: Logger;
  /** The words of the 404 page that names no society, in both languages (locales/ `no_society`). */
  messages: Messages;
}

/**
 * The one app a deployment listens with: it finds the society a request is for from the issuer it
 * names (society-routing.ts), and runs the society's app for it. For an issuer with a path (the path
 * form, `https://id.example.jp/<id>`), the society's app sees the path without it (its cookies
 * carry its id: societyCookie in src/config), and the root-relative addresses it answers with (redirects; links and forms through render.ts, which
 * reads `ctx.state.basePath`) get the prefix back. A request for no society gets a plain 404 that
 * names none.
 */
export function createFrontApp(options: FrontOptions): Koa {
  const app = new Koa({ proxy: options.proxy });
  app.keys = new CookieKeys(options.keys);
  const routes = new SocietyRoutes(options.societies.map((society) => ({ issuer: society.issuer, society })));
  app.on('error', (err, ctx) => {
    if ((err as { status?: number }).status && (err as { status: number }).status < 500) return;
    options.log.error({ err, path: ctx?.path }, 'http error');
  });
  // Every request is measured, labelled with the society it was routed to (none for health checks and 404s).
  app.use((ctx, next) => measureRequest(ctx, () => (ctx.state.societyId as string | undefined) ?? NO_SOCIETY, next));
  // Shutting down: each response ends its connection, so no keep-alive connection outlives the process's last request.
  app.use((ctx, next) => {
    if (options.draining?.()) ctx.set('Connection', 'close');
    return next();
  });
  app.use(async (ctx) => {
    if (ctx.path === '/readyz' && options.draining?.()) {
      ctx.status = 503;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'shutting down' };
      return;
    }
    if (ctx.path === '/healthz' || ctx.path === '/readyz') return options.health(ctx);
    const routed = routes.resolve(ctx.host, ctx.path);
    if (!routed) return notFound(ctx, options.messages);
    ctx.state.societyId = routed.society.id;
    const handle = await options.open(routed.society);
    const prefix = routed.prefix;
    if (!prefix) return handle(ctx);
    ctx.path = ctx.path.slice(prefix.length) || '/';
    ctx.state.basePath = prefix;
    // As koa-mount says where it mounted: oidc-provider builds its endpoints' URLs with it.
    (ctx as { mountPath?: string }).mountPath = prefix;
    await handle(ctx);
    const location = ctx.response.get('Location');
    if (location) ctx.set('Location', withBasePath(location, prefix));
  });
  return app;
}

/** A root-relative address (`/account`, not `//host` nor `https://…`) under the society's path. */
export function withBasePath(url: string, prefix: string): string {
  return prefix && url.startsWith('/') && !url.startsWith('//') && url !== prefix && !url.startsWith(`${prefix}/`) ? `${prefix}${url}` : url;
}

/**
 * No society's issuer covers this address: a plain page that names no society, in Japanese then
 * English (no society, so no language choice either).
 */
function notFound(ctx: Koa.Context, messages: Messages): void {
  const asText = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const parts = LOCALES.map((locale) => messages.translator(locale).t);
  ctx.status = 404;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', "default-src 'none'");
  ctx.body =
    '<!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>404</title></head><body><h1>${parts.map((t) => asText(t('no_society.title'))).join(' / ')}</h1>` +
    parts.map((t, i) => `<p lang="${LOCALES[i]}">${asText(t('no_society.message'))}</p>`).join('') +
    '</body></html>';
}
