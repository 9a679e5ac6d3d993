import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { receiveBackchannelLogout } from './backchannel-logout.js';
import { completeLogin } from './callback.js';
import { showClaims } from './claims.js';
import type { PortalDeps } from './deps.js';
import { startLogin } from './login.js';
import { logout, returnFromLogout } from './logout.js';
import { errorPages, portalLocale, securityHeaders } from './middleware.js';
import type { DemoPortalOptions } from './options.js';
import { PortalPages } from './pages.js';
import { ProviderClient } from './provider-client.js';
import { SessionStore } from './sessions.js';

export type { DemoPortalOptions } from './options.js';

/** The tiles of the top page: services from the member manual, section 4 (not functional here). */
const SERVICES = ['medical_costs', 'benefits', 'prescriptions', 'e_tax', 'checkups', 'notices'] as const;

/**
 * The demo portal: KOSMO Web's top page as a relying party of kosmo-idp, the example integration
 * for real portals (openid-client: code flow with PKCE, UserInfo, refresh, RP-initiated logout,
 * back-channel logout received at /backchannel-logout; as a FAPI 2.0 portal also PAR, private_key_jwt
 * and DPoP-bound tokens).
 */
export function createDemoPortal(o: DemoPortalOptions): Koa {
  const https = o.portalUrl.startsWith('https://');
  // Sessions live in this process's memory, so a key of its own is enough to sign their cookie.
  const app = new Koa({ keys: [randomBytes(32).toString('base64url')], proxy: https });
  const sessions = new SessionStore(https);
  const deps: PortalDeps = {
    options: o,
    provider: new ProviderClient(o),
    sessions,
    pages: new PortalPages(o, sessions),
    redirectUri: `${o.portalUrl}/callback`,
    postLogoutRedirectUri: `${o.portalUrl}/`,
  };
  const css = readFileSync(path.resolve('static/demo-portal.css'));
  const icon = readFileSync(path.resolve('static/favicon.svg'));

  const router = new Router();
  router.get('/', async (ctx) => {
    if (await returnFromLogout(ctx, deps)) return;
    deps.pages.render(ctx, 'home.njk', { services: SERVICES });
  });
  router.get('/login', startLogin(deps));
  router.get('/callback', completeLogin(deps));
  router.get('/claims', showClaims(deps));
  router.get('/logout', logout(deps));
  // A FAPI 2.0 portal publishes its public key here (its registration's jwks_uri).
  if (o.fapi) {
    const jwks = { keys: [o.fapi.key.publicJwk] };
    router.get('/jwks', (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = jwks;
    });
  }
  router.post('/backchannel-logout', receiveBackchannelLogout(deps));
  router.get(['/static/favicon.svg', '/favicon.ico'], (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = icon;
  });
  router.get('/static/demo-portal.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = css;
  });

  app.use(securityHeaders());
  app.use(portalLocale());
  app.use(errorPages(deps.pages, o.logger));
  app.use(router.routes());
  return app;
}

export async function startDemoPortal(o: DemoPortalOptions & { port: number; host?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(createDemoPortal(o).callback());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(o.port, o.host ?? '0.0.0.0', resolve));
  return {
    url: o.portalUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
