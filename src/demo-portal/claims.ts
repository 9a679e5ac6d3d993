import type Koa from 'koa';
import type { PortalDeps } from './deps.js';
import { flashNotice } from './pages.js';
import { currentUserInfo, SessionEndedError } from './tokens.js';

/** GET /claims: the ID token's claims and a fresh UserInfo response, as tables. */
export function showClaims(deps: PortalDeps): Koa.Middleware {
  return async (ctx) => {
    const session = deps.sessions.find(ctx);
    if (!session?.tokens) return ctx.redirect('/login');
    let userinfo: Record<string, unknown>;
    try {
      userinfo = await currentUserInfo(await deps.provider.get(), session);
    } catch (err) {
      if (!(err instanceof SessionEndedError)) throw err;
      deps.sessions.destroy(ctx);
      flashNotice(ctx, 'session_ended');
      return ctx.redirect('/');
    }
    deps.pages.render(ctx, 'claims.njk', { idTokenClaims: rows(session.claims ?? {}), userinfo: rows(userinfo) });
  };
}

const TIME_CLAIMS = new Set(['exp', 'iat', 'auth_time', 'updated_at']);

function rows(claims: Record<string, unknown>): { name: string; value: string }[] {
  return Object.entries(claims).map(([name, value]) => ({ name, value: formatClaim(name, value) }));
}

function formatClaim(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && TIME_CLAIMS.has(name)) return `${value} (${new Date(value * 1000).toISOString()})`;
  return JSON.stringify(value);
}
