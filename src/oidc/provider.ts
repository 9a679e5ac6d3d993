import { createHash, hkdfSync } from 'node:crypto';
import { CookieKeys } from '../http/cookie-keys.js';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import Provider, { interactionPolicy, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_VALUES, acrSatisfies } from '../factors/acr.js';
import { issuerPath, societyCookie, type Config } from '../config/index.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { postgresAdapterFactory } from './adapter.js';
import { portalFetch, portalHostsOnPrivateAddresses } from './outbound.js';
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
    token_endpoint_auth_method: c.token_endpoint_auth_method,
    ...(c.token_endpoint_auth_method === 'client_secret_basic' ? { client_secret: c.client_secret } : {}),
    ...(c.jwks ? { jwks: c.jwks as { keys: JWK[] } } : {}),
    ...(c.jwks_uri ? { jwks_uri: c.jwks_uri } : {}),
    require_pushed_authorization_requests: c.require_pushed_authorization_requests,
    dpop_bound_access_tokens: c.dpop_bound_access_tokens,
    ...(c.id_token_signed_response_alg ? { id_token_signed_response_alg: c.id_token_signed_response_alg } : {}),
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
 * The DPoP nonce secret of a society (RFC 9449 §8): the same in every process that serves it, so a
 * nonce one process gave out is good at the next; derived from SECRETS_KEY, so there is nothing more
 * to configure, and different for every society.
 */
export function dpopNonceSecret(config: Pick<Config, 'secretsKey' | 'society'>): Buffer {
  return Buffer.from(hkdfSync('sha256', config.secretsKey, Buffer.from(config.society.id), 'kosmo-idp dpop nonce', 32));
}

/**
 * The account console (src/http/account) is a first-party client of this provider: it signs the
 * member in, and asks for a recent login (max_age) before a sensitive change, through the provider's
 * own session rather than a second one.
 */
export const ACCOUNT_CONSOLE_CLIENT_ID = 'kosmo-account';

/** How long portals may cache a society's JWKS (Cache-Control of /jwks). */
export const JWKS_MAX_AGE_SECONDS = 300;

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
  const fapi2 = new Set(config.clients.filter((c) => c.profile === 'fapi2').map((c) => c.client_id));
  const isFapi2 = (client: { clientId: string } | undefined) => Boolean(client && fapi2.has(client.clientId));

  const provider = new Provider(config.issuer, {
    adapter: postgresAdapterFactory(sql),
    clients: [...providerClients(config), accountConsoleClient(config.issuer)],
    findAccount: findAccountFactory(sql),
    jwks: jwks as Configuration['jwks'],
    claims: CLAIMS_BY_SCOPE,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    responseTypes: ['code'],
    // A secret in the Authorization header, a signed assertion (private_key_jwt, FAPI 2.0), or none
    // (public clients, PKCE). Discovery advertises these, and anything else (client_secret_post …)
    // is invalid_client.
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt', 'none'],
    conformIdTokenClaims: false,
    cookies: {
      // Its own context (interactionDetails, interactionFinished) signs and checks with these too.
      keys: new CookieKeys(config.cookieKeys),
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
      // FAPI 2.0 Security Profile for the portals registered with "profile": "fapi2" (PKCE S256, the
      // issuer as the assertion's audience, iss in the authorization response); with their
      // registration (src/config/clients.ts FAPI2_IMPLIES): PAR, private_key_jwt and DPoP.
      fapi: { enabled: true, profile: (_ctx, client) => (isFapi2(client) ? '2.0' : undefined) },
      pushedAuthorizationRequests: { enabled: true },
      // DPoP: nonces every process of the society accepts; a FAPI 2.0 portal must use them. A
      // proof's jti is remembered in PostgreSQL (ReplayDetection below), so a replay is refused on
      // any process.
      dPoP: { enabled: true, nonceSecret: dpopNonceSecret(config), requireNonce: (ctx) => isFapi2(ctx.oidc.client) },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => pages.logout(ctx, form),
        postLogoutSuccessSource: (ctx) => pages.logoutDone(ctx),
      },
      // Logout tokens go through the outbox (src/oidc/backchannel.ts, backchannel-delivery.ts).
      backchannelLogout: { enabled: true },
    },
    // Public clients and FAPI 2.0 portals must use PKCE (S256, the only method oidc-provider 9 accepts).
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' || isFapi2(client) },
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
    // Rotated, except for FAPI 2.0 portals: their refresh tokens are bound to their private_key_jwt,
    // and FAPI 2.0 (5.3.2.1) asks that a retried refresh, whose answer was lost, still work.
    rotateRefreshToken: (ctx) => !isFapi2(ctx.oidc.client),
    ttl: {
      AccessToken: ttl.accessTokenSeconds,
      AuthorizationCode: 60,
      IdToken: ttl.idTokenSeconds,
      RefreshToken: ttl.refreshTokenSeconds,
      Interaction: ttl.interactionSeconds,
      Grant: ttl.refreshTokenSeconds,
      Session: (_ctx, session) => (session.transient ? ttl.sessionSeconds : ttl.rememberedSessionSeconds),
    },
    fetch: portalFetch(portalHostsOnPrivateAddresses(config)),
    renderError: (ctx, out, error) => pages.error(ctx, out as { error: string; error_description?: string }, error),
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris!.some((uri) => new URL(uri).origin === origin),
    enableHttpPostMethods: false,
  });
  provider.proxy = config.trustProxy;
  uniqueInOneStatement(provider, sql);
  bindRefreshTokensToDpopKey(provider, isFapi2);
  // The provider builds its endpoint URLs (discovery, redirects to the login) from the request's
  // own URL; they follow the issuer instead, whatever Host or X-Forwarded-* header came in. Under a
  // path issuer (src/http/front.ts) the request's path is the part after the issuer's.
  const issuerBase = config.issuer.replace(/\/$/, '');
  provider.use(async (ctx, next) => {
    Object.defineProperty(ctx, 'href', { value: `${issuerBase}${ctx.path}${ctx.search}`, configurable: true });
    await next();
    // Portals may cache the keys this long: a new key is published longer than this before it signs
    // (src/admin/keys-rotate.ts), and a portal that meets an unknown kid fetches the JWKS again.
    if (ctx.path === '/jwks' && ctx.status === 200) ctx.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
  });
  // A 500 inside the provider is answered by its own error handler and never reaches Koa's error
  // event: log it here, once, with its cause.
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    log.error({ err, method: ctx.method, path: ctx.path, route: ctx.oidc?.route }, 'oidc-provider server error');
  });
  return provider;
}

/**
 * A DPoP proof's (or a client assertion's) jti is accepted once, even when two processes see it at
 * the same moment: the provider's own check reads, then writes; this is one conditional insert.
 */
function uniqueInOneStatement(provider: Provider, sql: Sql): void {
  const replayDetection = (provider as unknown as { ReplayDetection: { unique(iss: string, jti: string, exp: number): Promise<boolean> } }).ReplayDetection;
  replayDetection.unique = async (iss, jti, exp) => {
    const id = createHash('sha256').update(`${iss}${jti}`).digest('base64url');
    const inserted = await sql.run(
      `insert into oidc_payload (model, id, payload, expires_at) values ('ReplayDetection', $1, $2, to_timestamp($3))
       on conflict (model, id, society_id) do update set payload = excluded.payload, expires_at = excluded.expires_at
       where oidc_payload.expires_at <= now()`,
      [id, JSON.stringify({ jti: id, iss, kind: 'ReplayDetection' }), exp],
    );
    return inserted === 1;
  };
}

/**
 * A FAPI 2.0 portal's refresh token is bound to the key of the DPoP proof it was issued with, like
 * its access tokens: oidc-provider binds only public clients' (RFC 9449 §5 leaves a confidential
 * client's to its authentication); a stolen refresh token and client assertion are then still not
 * enough. The proof was checked by the provider earlier in this request.
 */
function bindRefreshTokensToDpopKey(provider: Provider, isFapi2: (client: { clientId: string } | undefined) => boolean): void {
  const RefreshToken = provider.RefreshToken as unknown as { prototype: { save(...args: unknown[]): Promise<unknown>; jkt?: string } };
  const save = RefreshToken.prototype.save;
  RefreshToken.prototype.save = async function (this: { jkt?: string }, ...args: unknown[]) {
    const ctx = Provider.ctx;
    const proof = ctx?.get('DPoP');
    if (!this.jkt && proof && isFapi2(ctx?.oidc?.client)) {
      const { jwk } = decodeProtectedHeader(proof);
      if (jwk) this.jkt = await calculateJwkThumbprint(jwk);
    }
    return save.apply(this, args);
  };
}

/**
 * Every registered portal as the provider itself checks it, at start: what it refuses (metadata our
 * schema let through) stops the start with one line naming the portal, not the portal's first login;
 * so does an ID token algorithm the society has no signing key for (a FAPI 2.0 portal's ES256 with
 * only an RSA key in its jwks.json).
 */
export async function checkRegisteredClients(
  provider: Provider,
  config: Pick<Config, 'clients' | 'society'>,
  jwks: { keys: Record<string, unknown>[] },
): Promise<void> {
  const algs = new Set(jwks.keys.map(signingAlg));
  for (const c of config.clients) {
    const where = `society "${config.society.id}": client "${c.client_id}"`;
    try {
      await provider.Client.find(c.client_id);
    } catch (err) {
      const why = (err as { error_description?: string }).error_description ?? (err as Error).message;
      throw new Error(`${where}: ${why}`);
    }
    const alg = c.id_token_signed_response_alg ?? 'RS256';
    if (!algs.has(alg)) throw new Error(`${where}: field "id_token_signed_response_alg": the society has no ${alg} signing key (add one to its keys)`);
  }
}

/** The algorithm a signing key is for: its `alg`, else what its type signs by default. */
function signingAlg(key: Record<string, unknown>): string {
  if (typeof key.alg === 'string') return key.alg;
  if (key.kty === 'EC') return key.crv === 'P-256' ? 'ES256' : `EC ${String(key.crv)}`;
  return key.kty === 'RSA' ? 'RS256' : String(key.kty);
}
