import * as oidc from 'openid-client';
import type { PortalSession, PortalTokens } from './sessions.js';

/** The provider no longer honours our tokens (the member logged out there, or the grant ended). */
export class SessionEndedError extends Error {}

const EXPIRY_MARGIN_MS = 30_000;

/** A FAPI 2.0 portal's requests for a login or session carry a proof of its DPoP key. */
export function dpopOf(holder: { dpop?: oidc.DPoPHandle }): { DPoP: oidc.DPoPHandle } | undefined {
  return holder.dpop ? { DPoP: holder.dpop } : undefined;
}

export function tokensFrom(response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, previous?: PortalTokens): PortalTokens {
  const idToken = response.id_token ?? previous?.idToken;
  if (!idToken) throw new Error('token response without an ID token');
  return {
    idToken,
    accessToken: response.access_token,
    // The provider rotates refresh tokens (not a FAPI 2.0 portal's); keep the old one if it sent none.
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    accessTokenExpiresAt: Date.now() + (response.expiresIn() ?? 0) * 1000,
  };
}

/** Refreshes the access token when it is (nearly) expired, one refresh at a time per session. */
async function freshAccessToken(configuration: oidc.Configuration, session: PortalSession): Promise<string> {
  const tokens = session.tokens!;
  if (tokens.accessTokenExpiresAt - EXPIRY_MARGIN_MS > Date.now()) return tokens.accessToken;
  session.refreshing ??= refresh(configuration, session).finally(() => {
    session.refreshing = undefined;
  });
  await session.refreshing;
  return session.tokens!.accessToken;
}

async function refresh(configuration: oidc.Configuration, session: PortalSession): Promise<void> {
  const refreshToken = session.tokens?.refreshToken;
  if (!refreshToken) throw new SessionEndedError('access token expired and no refresh token');
  try {
    const response = await oidc.refreshTokenGrant(configuration, refreshToken, undefined, dpopOf(session));
    session.tokens = tokensFrom(response, session.tokens);
    const claims = response.claims();
    if (claims) session.claims = { ...claims };
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant') throw new SessionEndedError('refresh token rejected', { cause: err });
    throw err;
  }
}

/** The member's current UserInfo response, refreshing the access token first if needed. */
export async function currentUserInfo(configuration: oidc.Configuration, session: PortalSession): Promise<Record<string, unknown>> {
  const accessToken = await freshAccessToken(configuration, session);
  try {
    const userinfo = await oidc.fetchUserInfo(configuration, accessToken, String(session.claims!.sub), dpopOf(session));
    session.userinfo = { ...userinfo };
    return session.userinfo;
  } catch (err) {
    if (err instanceof oidc.WWWAuthenticateChallengeError) throw new SessionEndedError('access token rejected', { cause: err });
    throw err;
  }
}
