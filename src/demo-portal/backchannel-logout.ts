import type Koa from 'koa';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { PortalDeps } from './deps.js';

/** The event a logout token carries (OpenID Connect Back-Channel Logout 1.0, 2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** How old a logout token may be (its `iat`); the provider's are valid for two minutes. */
const MAX_AGE = '5 minutes';

/**
 * Checks a logout token as the specification asks (2.6): signed by the issuer's keys (its
 * jwks_uri), for this portal (`aud`), of type logout+jwt, recent (`iat`), with the logout event, with
 * `sub` or `sid`, and without `nonce`. The claims, or the reason it was refused.
 */
export async function verifyLogoutToken(
  token: string,
  expected: { issuer: string; clientId: string; jwks: JWTVerifyGetKey },
): Promise<{ ok: true; claims: JWTPayload & { sid?: string } } | { ok: false; reason: string }> {
  try {
    const { payload } = await jwtVerify(token, expected.jwks, {
      issuer: expected.issuer,
      audience: expected.clientId,
      typ: 'logout+jwt',
      maxTokenAge: MAX_AGE,
      requiredClaims: ['iat', 'jti', 'events'],
    });
    const events = payload.events as Record<string, unknown> | undefined;
    if (typeof events !== 'object' || events === null || typeof events[BACKCHANNEL_LOGOUT_EVENT] !== 'object') return { ok: false, reason: 'no logout event' };
    if ('nonce' in payload) return { ok: false, reason: 'a nonce is not allowed' };
    if (typeof payload.sub !== 'string' && typeof payload.sid !== 'string') return { ok: false, reason: 'neither sub nor sid' };
    return { ok: true, claims: payload as JWTPayload & { sid?: string } };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** The body of a back-channel request is small: one form field. */
async function formField(ctx: Koa.Context, name: string): Promise<string | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  let body = '';
  for await (const chunk of ctx.req) {
    body += String(chunk);
    if (body.length > 16_384) return undefined;
  }
  return new URLSearchParams(body).get(name) ?? undefined;
}

/**
 * POST /backchannel-logout: the provider says the member's session with this portal ended (logged
 * out elsewhere, signed out of every device, password changed …). The token is verified, and every
 * portal session of that provider session (`sid`), or of the member (`sub`) when it has none, is
 * logged out: the member's next page here shows 「ログイン」. 200 when done, 400 for a token refused.
 */
export function receiveBackchannelLogout(deps: PortalDeps): Koa.Middleware {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const seen = new Map<string, number>();
  return async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const token = await formField(ctx, 'logout_token');
    if (!token) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request' };
      return;
    }
    const configuration = await deps.provider.get();
    const metadata = configuration.serverMetadata();
    jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri!));
    const verified = await verifyLogoutToken(token, { issuer: metadata.issuer, clientId: deps.options.clientId, jwks });
    const jti = verified.ok ? String(verified.claims.jti) : '';
    if (!verified.ok || seen.has(jti)) {
      deps.options.logger?.warn({ reason: verified.ok ? 'replayed' : verified.reason }, 'demo portal: logout token refused');
      ctx.status = 400;
      ctx.body = { error: 'invalid_request' };
      return;
    }
    const now = Date.now();
    for (const [id, at] of seen) if (at < now - 10 * 60 * 1000) seen.delete(id);
    seen.set(jti, now);
    deps.sessions.logOutWhere((claims) => (verified.claims.sid ? claims.sid === verified.claims.sid : claims.sub === verified.claims.sub));
    ctx.status = 200;
    ctx.body = '';
  };
}
