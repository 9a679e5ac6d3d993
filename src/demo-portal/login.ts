import type Koa from 'koa';
import * as oidc from 'openid-client';
import { z } from 'zod';
import type { PortalDeps } from './deps.js';

export const PORTAL_SCOPE = 'openid profile email offline_access';

// Also the client's initiate_login_uri (OIDC Core 4): a login may be started by the provider, which
// names itself in iss. login_hint and target_link_uri are accepted and not used.
const loginQuery = z.object({
  iss: z.string().optional(),
  login_hint: z.string().optional(),
  target_link_uri: z.string().optional(),
});

/**
 * Sends the browser to the provider's authorization endpoint: code flow with PKCE (S256), state and
 * nonce (and, as a FAPI 2.0 portal, PAR and DPoP). With `afterLogout`, prompt=none asks only "is this browser still logged in there?", never
 * showing a login screen.
 */
export async function redirectToProvider(ctx: Koa.Context, deps: PortalDeps, afterLogout = false): Promise<void> {
  const configuration = await deps.provider.get();
  const dpop = await deps.provider.newDpopHandle();
  const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), afterLogout, dpop };
  deps.sessions.start(ctx, { pending });
  const parameters = {
    redirect_uri: deps.redirectUri,
    scope: PORTAL_SCOPE,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
    ui_locales: ctx.state.locale,
    ...(afterLogout ? { prompt: 'none' } : {}),
  };
  // A FAPI 2.0 portal pushes its request first (PAR, with a DPoP proof that binds the code to its
  // key), and sends the browser with only the request_uri.
  const url = dpop ? await oidc.buildAuthorizationUrlWithPAR(configuration, parameters, { DPoP: dpop }) : oidc.buildAuthorizationUrl(configuration, parameters);
  ctx.redirect(url.href);
}

/** GET /login: 「ログイン」. */
export function startLogin(deps: PortalDeps): Koa.Middleware {
  return async (ctx) => {
    const query = loginQuery.safeParse(ctx.query);
    if (!query.success || (query.data.iss !== undefined && query.data.iss !== deps.options.issuer)) ctx.throw(400, 'unexpected login request');
    await redirectToProvider(ctx, deps);
  };
}
