import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../../config/index.js';
import type { AppDeps } from '../../members/changes/deps.js';

/** What the interaction routes are handed at start. */
export interface InteractionDeps extends AppDeps {
  provider: Provider;
}

export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** A request to a page of a login: the application and the interaction this browser is in. */
export interface LoginRequest {
  ctx: Context;
  deps: InteractionDeps;
  interaction: Interaction;
}

const LAST_CLIENT_COOKIE = 'kosmo.client';
/** Whether this browser is logged in at the provider (its session has an account), as the console asks. */
export async function loggedInAtProvider(ctx: Context, provider: Provider): Promise<boolean> {
  const session = await provider.Session.get(ctx as never).catch(() => undefined);
  return Boolean(session?.accountId);
}

/** Remembers which portal sent the member, so an expired login can send them back to it. */
export function rememberClient(ctx: Context, clientId: string, secure: boolean): void {
  ctx.cookies.set(ctx.state.cookieName(LAST_CLIENT_COOKIE), clientId, { httpOnly: true, sameSite: 'lax', secure, signed: true, maxAge: 30 * 24 * 3600 * 1000 });
}

/** Where "Login with OpenID Connect" starts a fresh login: the portal's initiate_login_uri, else its home. */
export function restartLoginUrl(ctx: Context, config: Config): string | undefined {
  const clientId = ctx.cookies.get(ctx.state.cookieName(LAST_CLIENT_COOKIE), { signed: true });
  const client = config.clients.find((c) => c.client_id === clientId) ?? config.clients[0];
  if (!client) return undefined;
  if (client.initiate_login_uri) return client.initiate_login_uri;
  const home = client.post_logout_redirect_uris[0] ?? client.redirect_uris[0];
  return home ? new URL('/', home).toString() : undefined;
}
