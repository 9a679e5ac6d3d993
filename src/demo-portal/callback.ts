import type Koa from 'koa';
import * as oidc from 'openid-client';
import type { PortalDeps } from './deps.js';
import { flashNotice } from './pages.js';
import { dpopOf, tokensFrom } from './tokens.js';

/** What a prompt=none request answers when the browser has no usable session at the provider. */
const NOT_LOGGED_IN = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/** kosmo-idp's error_description when the member declined the terms of use (README, "How a portal…"). */
const TERMS_DECLINED = /did not accept the terms of use/;

/** GET /callback: the provider's answer; state, nonce, iss and PKCE are checked by openid-client. */
export function completeLogin(deps: PortalDeps): Koa.Middleware {
  return async (ctx) => {
    const pending = deps.sessions.find(ctx)?.pending;
    if (!pending) {
      flashNotice(ctx, 'login_failed');
      return ctx.redirect('/');
    }
    const configuration = await deps.provider.get();
    const currentUrl = new URL(deps.redirectUri);
    currentUrl.search = ctx.querystring;
    try {
      const options = dpopOf(pending);
      const response = await oidc.authorizationCodeGrant(
        configuration,
        currentUrl,
        { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true },
        undefined,
        options,
      );
      const claims = response.claims()!;
      const userinfo = await oidc.fetchUserInfo(configuration, response.access_token, claims.sub, options);
      deps.sessions.start(ctx, { tokens: tokensFrom(response), claims: { ...claims }, userinfo: { ...userinfo }, dpop: pending.dpop });
      // The silent check after the logout confirmation found the member still logged in there.
      if (pending.afterLogout) flashNotice(ctx, 'logout_cancelled');
    } catch (err) {
      deps.sessions.destroy(ctx);
      if (pending.afterLogout && err instanceof oidc.AuthorizationResponseError && NOT_LOGGED_IN.has(err.error)) {
        // The provider has no session for this browser any more: logged out everywhere.
        flashNotice(ctx, 'logged_out');
      } else if (err instanceof oidc.AuthorizationResponseError && err.error === 'access_denied') {
        // The member chose not to log in (or the provider would not let them): a plain message,
        // and why, when the provider says it was the terms of use (3-9).
        flashNotice(ctx, TERMS_DECLINED.test(err.error_description ?? '') ? 'terms_declined' : 'cancelled');
      } else {
        deps.options.logger?.warn({ err }, 'demo portal: login did not complete');
        flashNotice(ctx, 'login_failed');
      }
    }
    ctx.redirect('/');
  };
}
