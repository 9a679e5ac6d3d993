import type { Logger } from 'pino';

/** A FAPI 2.0 portal's own signing key (private_key_jwt): the private half, and what its /jwks publishes. */
export interface PortalSigningKey {
  privateKey: CryptoKey;
  publicJwk: JsonWebKey & { kid: string; alg: string; use: 'sig' };
}

export interface DemoPortalOptions {
  /** The provider's issuer, e.g. http://localhost:3000. */
  issuer: string;
  clientId: string;
  /** A portal registered with client_secret_basic. */
  clientSecret?: string;
  /**
   * A portal registered with "profile": "fapi2" (src/config/clients.ts): it authenticates with this
   * key (private_key_jwt; its public half at <portalUrl>/jwks, the registration's jwks_uri), pushes
   * its authorization requests (PAR) and binds its tokens to a DPoP key of each member's session.
   */
  fapi?: { key: PortalSigningKey };
  /** e.g. http://localhost:3001: the redirect URI is <portalUrl>/callback, the post-logout one <portalUrl>/. */
  portalUrl: string;
  /** The provider's account console pages, linked from the header only when given. */
  accountLinks?: { profile?: string; loginMethods?: string };
  logger?: Logger;
}
