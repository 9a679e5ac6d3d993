import type { Logger } from 'pino';

export interface DemoPortalOptions {
  /** The provider's issuer, e.g. http://localhost:3000. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** e.g. http://localhost:3001: the redirect URI is <portalUrl>/callback, the post-logout one <portalUrl>/. */
  portalUrl: string;
  /** The provider's account console pages, linked from the header only when given. */
  accountLinks?: { profile?: string; loginMethods?: string };
  logger?: Logger;
}
