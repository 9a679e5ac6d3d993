import type Koa from 'koa';
import * as oidc from 'openid-client';
import type { PortalDeps } from './deps.js';
import { redirectToProvider } from './login.js';

/**
 * GET /logout: RP-initiated logout at the provider, which asks 「ログアウトしてもよろしいですか？」.
 * The portal keeps its session meanwhile: until the provider has answered, the member has not
 * logged out, and dropping it here would show 「ログイン」 while the provider still knows them.
 */
export function logout(deps: PortalDeps): Koa.Middleware {
  return async (ctx) => {
    const session = deps.sessions.find(ctx);
    const idToken = session?.tokens?.idToken;
    if (!session || !idToken) {
      deps.sessions.destroy(ctx);
      return ctx.redirect('/');
    }
    session.logoutState = oidc.randomState();
    const configuration = await deps.provider.get();
    ctx.redirect(
      oidc.buildEndSessionUrl(configuration, {
        id_token_hint: idToken,
        post_logout_redirect_uri: deps.postLogoutRedirectUri,
        state: session.logoutState,
        ui_locales: ctx.state.locale,
      }).href,
    );
  };
}

/**
 * GET /?state=…: back from the confirmation. Both 「ログアウトする」 and 「ポータルに戻る」 come back
 * here, and either way the provider has ended this portal's grant, so our tokens are dead. Which
 * button was pressed is asked of the provider itself, silently (prompt=none): still logged in there
 * gives a fresh login here (the member stays logged in); login_required means logged out everywhere.
 * Returns false when this request is not such a return.
 */
export async function returnFromLogout(ctx: Koa.Context, deps: PortalDeps): Promise<boolean> {
  const state = ctx.query.state;
  const session = deps.sessions.find(ctx);
  if (typeof state !== 'string' || !session?.logoutState || session.logoutState !== state) return false;
  await redirectToProvider(ctx, deps, true);
  return true;
}
