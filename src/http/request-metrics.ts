import type Koa from 'koa';
import { observeRequest } from '../ops/metrics.js';
import { inRequestSpan } from '../ops/tracing.js';

/** Paths answered outside the routers, each its own label. */
const FIXED_PATHS = new Set(['/healthz', '/readyz', '/society.css', '/society-logo', '/favicon.ico']);

/**
 * The label of the route a request matched, never its path: a router's template
 * (`/interaction/:uid/login`; the provider's router gives its own, `/token`, `/auth/:uid`), else the
 * provider's route name (`oidc:…`), `static`, a fixed path, else `unmatched`. So an interaction id, a token or a made-up path never becomes a label.
 */
export function routeLabel(ctx: Koa.Context): string {
  const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const oidcRoute = (ctx as { oidc?: { route?: string } }).oidc?.route;
  if (typeof oidcRoute === 'string') return `oidc:${oidcRoute}`;
  if (FIXED_PATHS.has(ctx.path)) return ctx.path;
  if (ctx.path.startsWith('/static/') && ctx.status < 400) return 'static';
  return 'unmatched';
}

/**
 * Measures a request for `http_server_requests_seconds`, in a server span when tracing is on;
 * `society` is read when it ends (routing sets it).
 */
export function measureRequest(ctx: Koa.Context, society: () => string, handle: () => Promise<void>): Promise<void> {
  return inRequestSpan(ctx.method, async (finish) => {
    const started = performance.now();
    let status: number | undefined;
    try {
      await handle();
    } catch (err) {
      status = (err as { status?: number }).status ?? 500;
      throw err;
    } finally {
      const labels = { society: society(), method: ctx.method, route: routeLabel(ctx), status: status ?? ctx.status };
      observeRequest(labels, (performance.now() - started) / 1000);
      finish(labels);
    }
  });
}
