import Koa from 'koa';
import Router from '@koa/router';
import nunjucks from 'nunjucks';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { Messages, pickLocale, LOCALES } from '../i18n/index.js';
import { ProviderClient } from './oidc-client.js';
import { SessionStore } from './sessions.js';

export interface DemoPortalOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** e.g. http://localhost:3001; the redirect URI is <portalUrl>/callback. */
  portalUrl: string;
  accountLinks?: { profile?: string; loginMethods?: string };
  logger?: Logger;
}

const SERVICES = ['medical_costs', 'benefits', 'prescriptions', 'e_tax', 'checkups', 'notices'];

/**
 * The demo portal: the example integration of a relying party (KOSMO Web's top page) with
 * openid-client — code flow with PKCE, userinfo, RP-initiated logout.
 */
export function createDemoPortal(o: DemoPortalOptions): Koa {
  const app = new Koa({ keys: [randomBytes(32).toString('base64url')] });
  const views = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.resolve('views/demo-portal')), { autoescape: true });
  const messages = new Messages(path.resolve('locales/portal'));
  const css = readFileSync(path.resolve('static/demo-portal.css'));
  const client = new ProviderClient(o.issuer, o.clientId, o.clientSecret);
  const sessions = new SessionStore();
  const redirectUri = `${o.portalUrl}/callback`;
  const router = new Router();

  app.use(async (ctx, next) => {
    const asked = typeof ctx.query.lang === 'string' && (LOCALES as readonly string[]).includes(ctx.query.lang) ? ctx.query.lang : undefined;
    if (asked) ctx.cookies.set('portal.lang', asked, { httpOnly: true, sameSite: 'lax' });
    ctx.state.locale = pickLocale(asked ?? ctx.cookies.get('portal.lang'));
    ctx.set('Content-Security-Policy', "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    try {
      await next();
    } catch (err) {
      o.logger?.warn({ err }, 'demo portal error');
      page(ctx, 'error.njk', { message: 'portal.error.generic' }, 502);
    }
  });

  function page(ctx: Koa.Context, view: string, vars: Record<string, unknown> = {}, status = 200) {
    const session = sessions.get(ctx);
    const notice = session.notice;
    session.notice = undefined;
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render(view, {
      t: messages.translator(ctx.state.locale).t, locale: ctx.state.locale,
      member: session.claims ? { name: session.claims.name ?? session.claims.preferred_username } : undefined,
      accountLinks: o.accountLinks ?? {}, services: SERVICES, notice, ...vars,
    });
  }

  router.get('/static/demo-portal.css', (ctx) => { ctx.type = 'text/css'; ctx.body = css; });
  router.get('/', (ctx) => page(ctx, 'home.njk'));

  // Also the client's initiate_login_uri: a third party (the provider) may start a login here.
  router.get('/login', async (ctx) => {
    if (typeof ctx.query.iss === 'string' && ctx.query.iss !== o.issuer) ctx.throw(400);
    const configuration = await client.get();
    const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
    sessions.get(ctx).pending = pending;
    ctx.redirect(oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri, scope: 'openid profile email offline_access', state: pending.state, nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
      ui_locales: ctx.state.locale,
    }).toString());
  });

  router.get('/callback', async (ctx) => {
    const session = sessions.get(ctx);
    const pending = session.pending;
    session.pending = undefined;
    if (typeof ctx.query.error === 'string') {
      session.notice = ctx.query.error === 'access_denied' ? 'portal.notice.cancelled' : 'portal.error.login_failed';
      return ctx.redirect('/');
    }
    if (!pending) { session.notice = 'portal.error.login_failed'; return ctx.redirect('/'); }
    const configuration = await client.get();
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration, new URL(ctx.href.replace(/^http:\/\/[^/]+/, o.portalUrl)), {
        pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce,
      });
      const claims = tokens.claims()!;
      session.idToken = tokens.id_token;
      session.claims = { ...claims };
      session.userinfo = { ...(await oidc.fetchUserInfo(configuration, tokens.access_token, claims.sub)) };
    } catch (err) {
      o.logger?.warn({ err }, 'demo portal: code exchange failed');
      session.notice = 'portal.error.login_failed';
    }
    ctx.redirect('/');
  });

  router.get('/claims', (ctx) => {
    const session = sessions.get(ctx);
    if (!session.claims) return ctx.redirect('/login');
    page(ctx, 'claims.njk', { claims: Object.entries(session.claims), userinfo: Object.entries(session.userinfo ?? {}) });
  });

  router.get('/logout', async (ctx) => {
    const session = sessions.get(ctx);
    const idToken = session.idToken;
    sessions.destroy(ctx);
    if (!idToken) return ctx.redirect('/');
    const configuration = await client.get();
    ctx.redirect(oidc.buildEndSessionUrl(configuration, { id_token_hint: idToken, post_logout_redirect_uri: `${o.portalUrl}/` }).toString());
  });

  app.use(router.routes());
  return app;
}

export async function startDemoPortal(o: DemoPortalOptions & { port: number; host?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(createDemoPortal(o).callback());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(o.port, o.host ?? '0.0.0.0', resolve));
  return {
    url: o.portalUrl,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
