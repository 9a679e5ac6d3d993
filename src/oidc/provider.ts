import Provider, { interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_VALUES, acrSatisfies } from '../factors/acr.js';
import { issuerPath, societyCookie, type Config } from '../config/index.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { postgresAdapterFactory } from './adapter.js';
import { backchannelFetch } from './backchannel.js';
import { CLAIMS_BY_SCOPE, findAccountFactory } from './account.js';

export interface ProviderPages {
  /** Our confirmation page for RP-initiated logout; `form` is the provider's hidden form. */
  logout(ctx: KoaContextWithOIDC, form: string): Promise<void>;
  logoutDone(ctx: KoaContextWithOIDC): Promise<void>;
  error(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error: Error): Promise<void>;
}

function providerClients(config: Config): NonNullable<Configuration['clients']>[number][] {
  return config.clients.map((c) => ({
    client_id: c.client_id,
    client_name: c.client_name,
    ...(c.public ? { token_endpoint_auth_method: 'none' } : { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris,
    scope: c.scope,
    ...(c.backchannel_logout_uri
      ? { backchannel_logout_uri: c.backchannel_logout_uri, backchannel_logout_session_required: c.backchannel_logout_session_required ?? false }
      : {}),
    // initiate_login_uri stays in our own config: the provider insists on https for it, and we
    // only use it to restart a login from the "expired" page.
  }));
}

/**
 * The account console (src/http/account) is a first-party client of this provider: it signs the
 * member in, and asks for a recent login (max_age) before a sensitive change, through the provider's
 * own session rather than a second one.
 */
export const ACCOUNT_CONSOLE_CLIENT_ID = 'kosmo-account';

/** The provider's session cookie (our CSRF tokens are bound to the session it names), as the society names it. */
export const sessionCookie = (config: Pick<Config, 'issuer' | 'society'>) => societyCookie(config, 'kosmo.session');
export const accountConsoleRedirectUri = (issuer: string) => `${issuer}/account/callback`;

/** The console's pages a portal links to (プロフィール変更, ログイン方法変更); 「ポータルに戻る」 leads back to it. */
export function accountConsoleLinks(issuer: string, clientId: string): { profile: string; loginMethods: string } {
  const referrer = `referrer=${encodeURIComponent(clientId)}`;
  return { profile: `${issuer}/account?${referrer}`, loginMethods: `${issuer}/account/login-methods?${referrer}` };
}

function accountConsoleClient(issuer: string): NonNullable<Configuration['clients']>[number] {
  return {
    client_id: ACCOUNT_CONSOLE_CLIENT_ID,
    client_name: 'Account console',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [accountConsoleRedirectUri(issuer)],
    post_logout_redirect_uris: [],
    scope: 'openid',
  };
}

/**
 * The provider's default prompts, plus: a portal asking `acr_values` above what the member's
 * session reached gets a fresh login (with its second factor) instead of the session. The ID token
 * then says which level the login reached; the portal decides what to do with a lower one.
 * `max_age` is the provider's own check: an older session means a new login, second factor included.
 */
function loginPolicy() {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.add(
    new interactionPolicy.Check('acr_values', 'a stronger authentication was requested', (ctx) => {
      const asked = ctx.oidc.params?.acr_values;
      const requested = typeof asked === 'string' ? asked.split(' ').filter(Boolean) : [];
      if (requested.length === 0 || !ctx.oidc.session?.accountId || ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return acrSatisfies(ctx.oidc.session.acr, requested) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}

export function createProvider(deps: { config: Config; sql: Sql; jwks: { keys: Record<string, unknown>[] }; pages: ProviderPages; log: Logger }): Provider {
  const { config, sql, jwks, pages, log } = deps;
  const ttl = config.union.ttl;
  const secureCookies = config.issuer.startsWith('https://');
  const firstParty = new Set([...config.clients.map((c) => c.client_id), ACCOUNT_CONSOLE_CLIENT_ID]);

  const provider = new Provider(config.issuer, {
    adapter: postgresAdapterFactory(sql),
    clients: [...providerClients(config), accountConsoleClient(config.issuer)],
    findAccount: findAccountFactory(sql),
    jwks: jwks as Configuration['jwks'],
    claims: CLAIMS_BY_SCOPE,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    responseTypes: ['code'],
    // Only what portals use: a secret in the Authorization header, or none (public clients, PKCE).
    // Discovery advertises these two, and anything else (client_secret_post …) is invalid_client.
    clientAuthMethods: ['client_secret_basic', 'none'],
    conformIdTokenClaims: false,
    cookies: {
      keys: config.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: secureCookies, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure: secureCookies, signed: true },
      names: { session: sessionCookie(config), interaction: societyCookie(config, 'kosmo.interaction'), resume: societyCookie(config, 'kosmo.resume') },
    },
    features: {
      devInteractions: { enabled: false },
      // A portal may revoke and inspect only the tokens issued to itself.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => pages.logout(ctx, form),
        postLogoutSuccessSource: (ctx) => pages.logoutDone(ctx),
      },
      // Logout tokens go through the outbox (src/oidc/backchannel.ts, backchannel-delivery.ts).
      backchannelLogout: { enabled: true },
    },
    fetch: backchannelFetch(config.backchannelPrivateHosts),
    // Public clients must use PKCE (S256, the only method oidc-provider 9 accepts).
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Under the society's path (its interaction cookie is scoped to this address).
    interactions: { policy: loginPolicy(), url: (_ctx, interaction) => `${issuerPath(config)}/interaction/${interaction.uid}` },
    acrValues: ACR_VALUES,
    // First-party portals from config get their grant without a consent screen.
    async loadExistingGrant(ctx) {
      const client = ctx.oidc.client!;
      const session = ctx.oidc.session!;
      const existingId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (existingId) {
        const existing = await ctx.oidc.provider.Grant.find(existingId);
        if (existing && existing.accountId === session.accountId) {
          if (firstParty.has(client.clientId)) {
            existing.addOIDCScope(String(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid'));
            await existing.save();
          }
          return existing;
        }
      }
      if (!firstParty.has(client.clientId) || !session.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
    // Portals get refresh tokens bound to the member's session (they end with it at logout), as in
    // Keycloak: the provider drops offline_access without a consent prompt, which we never show.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl.accessTokenSeconds,
      AuthorizationCode: 60,
      IdToken: ttl.idTokenSeconds,
      RefreshToken: ttl.refreshTokenSeconds,
      Interaction: ttl.interactionSeconds,
      Grant: ttl.refreshTokenSeconds,
      Session: (_ctx, session) => (session.transient ? ttl.sessionSeconds : ttl.rememberedSessionSeconds),
    },
    renderError: (ctx, out, error) => pages.error(ctx, out as { error: string; error_description?: string }, error),
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris!.some((uri) => new URL(uri).origin === origin),
    enableHttpPostMethods: false,
  });
  provider.proxy = config.trustProxy;
  // The provider builds its endpoint URLs (discovery, redirects to the login) from the request's
  // own URL; they follow the issuer instead, whatever Host or X-Forwarded-* header came in. Under a
  // path issuer (src/http/front.ts) the request's path is the part after the issuer's.
  const issuerBase = config.issuer.replace(/\/$/, '');
  provider.use(async (ctx, next) => {
    Object.defineProperty(ctx, 'href', { value: `${issuerBase}${ctx.path}${ctx.search}`, configurable: true });
    await next();
  });
  // A 500 inside the provider is answered by its own error handler and never reaches Koa's error
  // event: log it here, once, with its cause.
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    log.error({ err, method: ctx.method, path: ctx.path, route: ctx.oidc?.route }, 'oidc-provider server error');
  });
  return provider;
}
