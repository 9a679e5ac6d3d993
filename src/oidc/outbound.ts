import type { Configuration } from 'oidc-provider';
import type { Config } from '../config/index.js';

/**
 * The hosts of a society's portals the provider may call although they resolve to loopback or
 * private addresses: outside production every host a portal registered for the provider to call
 * (its jwks_uri, its back-channel logout URI), so that the demo portals and the tests work; in
 * production only the hosts PORTAL_PRIVATE_HOSTS names. Everything else keeps oidc-provider's
 * protection against request forgery (a connection to a special-use address is cut).
 */
export function portalHostsOnPrivateAddresses(config: Pick<Config, 'production' | 'clients' | 'portalPrivateHosts'>): Set<string> {
  const hosts = new Set(config.portalPrivateHosts);
  if (!config.production) {
    for (const c of config.clients) {
      for (const uri of [c.jwks_uri, c.backchannel_logout_uri]) if (uri) hosts.add(new URL(uri).host);
    }
  }
  return hosts;
}

/** oidc-provider's outgoing requests: its request-forgery protection, except for `allowed` hosts. */
export function outboundFetch(allowed: Set<string>): NonNullable<Configuration['fetch']> {
  return (url, options) => {
    const target = new URL(url instanceof Request ? url.url : url);
    if (allowed.has(target.host) || allowed.has(target.hostname)) {
      const { dispatcher: _protected, ...rest } = options as RequestInit & { dispatcher?: unknown };
      return fetch(url, rest);
    }
    return fetch(url, options as RequestInit);
  };
}
