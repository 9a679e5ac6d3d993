import Koa from 'koa';
import { CookieKeys } from './cookie-keys.js';
import compose from 'koa-compose';
import path from 'node:path';
import { societyCookie, type Config } from '../config/index.js';
import type { Messages } from '../i18n/index.js';
import { apiSecurityHeaders, securityHeaders } from './middleware/security-headers.js';
import { csrfCookieName, csrfProtection } from './middleware/csrf.js';
import { localeMiddleware } from './middleware/locale.js';
import { staticFiles } from './middleware/static-files.js';
import { societyLook } from './society-look.js';
import { errorPages } from './middleware/errors.js';
import { boundaryValidation } from './middleware/boundary.js';
import { healthRouter } from './health.js';
import { interactionRouter } from './interaction/routes.js';
import type { InteractionDeps } from './interaction/request.js';
import { verifyEmailRouter } from './verify-email.js';
import { recoveryRouter } from './recovery/routes.js';
import { accountRouter } from './account/routes.js';
import { hmac } from '../crypto.js';
import { acceptedKeys } from '../secrets.js';
import { sessionCookie } from '../oidc/provider.js';

export interface HttpDeps extends InteractionDeps {
  /**
   * The first middleware: runs the rest of the request for its society, so that every statement it
   * sends sees that society's rows only (src/db/society.ts; one society per deployment for now).
   */
  societyScope: Koa.Middleware;
  messages: Messages;
  /** Extra routers mounted before the provider (development mailbox, account console …). */
  extraRoutes?: Koa.Middleware[];
}

/** The provider's back-channel endpoints (JSON only). */
const BACK_CHANNEL = new Set(['/token', '/token/introspection', '/token/revocation', '/me', '/jwks']);

function origins(config: Config): string[] {
  return config.clients.flatMap((c) => [...c.redirect_uris, ...c.post_logout_redirect_uris]).map((u) => new URL(u).origin);
}

/**
 * Under an https issuer, a page request that did not come over TLS (or through a trusted proxy that
 * says so) cannot carry the Secure cookies every page sets: it gets one clear line instead of a 500.
 * Health checks stay reachable over plain http inside the container.
 */
function httpsOnly(secure: boolean): Koa.Middleware {
  return async (ctx, next) => {
    if (!secure || ctx.secure || ctx.path === '/healthz' || ctx.path === '/readyz') return next();
    ctx.status = 400;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = 'This server answers over https only. Behind a TLS proxy, set TRUST_PROXY=true and forward X-Forwarded-Proto.\n';
  };
}

/** One Koa app: our pages and routes first, then oidc-provider for the protocol endpoints. */
export function createHttpApp(deps: HttpDeps): Koa {
  const { config, provider, log } = deps;
  const secure = config.issuer.startsWith('https://');
  const app = new Koa({ proxy: config.trustProxy });
  app.keys = new CookieKeys(config.cookieKeys);
  // A form rendered just before SECRETS_KEY changed still posts: its token was made with a key now in SECRETS_KEY_PREVIOUS.
  const csrfKeys = acceptedKeys(config).map((key) => Buffer.from(hmac(key, 'csrf-key'), 'base64url'));

  // First of all: everything a request does runs for its society (row-level security in PostgreSQL),
  // and the cookies it reads and writes are the society's (their names carry its id on a shared host).
  app.use(deps.societyScope);
  app.use((ctx, next) => {
    ctx.state.cookieName = (name) => societyCookie(config, name);
    return next();
  });
  app.on('error', (err, ctx) => {
    if ((err as { status?: number }).status && (err as { status: number }).status < 500) return;
    log.error({ err, path: ctx?.path }, 'http error');
  });
  app.use(async (ctx, next) => {
    const started = performance.now();
    await next();
    log.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) }, 'request');
  });
  const providerMiddleware = compose((provider as unknown as { middleware: Koa.Middleware[] }).middleware);
  // Portals' back ends call these endpoints on every refresh and API call: they answer JSON only,
  // so they skip the page machinery (languages, CSRF, our routers) and go straight to the provider,
  // still through the boundary check (test/bench measures the refresh grant).
  const backChannel = compose([apiSecurityHeaders(secure), boundaryValidation({ jsonOnly: true }), providerMiddleware]);
  app.use((ctx, next) => (BACK_CHANNEL.has(ctx.path) ? backChannel(ctx, async () => {}) : next()));
  app.use(securityHeaders(origins(config), secure));
  app.use(httpsOnly(secure));
  app.use(staticFiles(path.resolve('static')));
  app.use(societyLook(config.society));
  app.use(localeMiddleware(deps.messages, secure, config.union.name));
  app.use(errorPages(log));
  app.use(boundaryValidation());
  app.use(healthRouter(deps.sql, log).routes());
  app.use(csrfProtection(csrfKeys, { secure, sessionCookie: sessionCookie(config), cookie: societyCookie(config, csrfCookieName(secure)) }));
  const interactions = interactionRouter(deps);
  app.use(interactions.routes());
  app.use(interactions.allowedMethods());
  app.use(verifyEmailRouter(deps).routes());
  app.use(recoveryRouter(deps).routes());
  app.use(accountRouter(deps).routes());
  for (const extra of deps.extraRoutes ?? []) app.use(extra);
  app.use((ctx, next) => providerMiddleware(ctx, next));
  return app;
}
