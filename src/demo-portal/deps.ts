import type { DemoPortalOptions } from './options.js';
import type { PortalPages } from './pages.js';
import type { ProviderClient } from './provider-client.js';
import type { SessionStore } from './sessions.js';

/** What every route of the portal is handed. */
export interface PortalDeps {
  options: DemoPortalOptions;
  provider: ProviderClient;
  sessions: SessionStore;
  pages: PortalPages;
  /** <portalUrl>/callback, registered with the provider. */
  redirectUri: string;
  /** <portalUrl>/, registered with the provider. */
  postLogoutRedirectUri: string;
}
