import type Koa from 'koa';
import * as oidc from 'openid-client';
import type { PortalDeps } from './deps.js';

/** GET /logout: forget the member here, then RP-initiated logout at the provider (which confirms). */
export function logout(deps: PortalDeps): Koa.Middleware {
  return async (ctx) => {
    const idToken = deps.sessions.find(ctx)?.tokens?.idToken;
    deps.sessions.destroy(ctx);
    if (!idToken) return ctx.redirect('/');
    const configuration = await deps.provider.get();
    ctx.redirect(oidc.buildEndSessionUrl(configuration, { id_token_hint: idToken, post_logout_redirect_uri: deps.postLogoutRedirectUri }).href);
  };
}
