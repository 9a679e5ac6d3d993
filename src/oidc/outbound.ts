import { lookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv6 } from 'node:net';
import type { Config } from '../config/index.js';

/**
 * The host names of a society's portals the provider may call although they resolve to loopback or
 * private addresses: outside production every host a portal registered for the provider to call
 * (its jwks_uri, its back-channel logout URI), so that the demo portals and the tests work; in
 * production only the hosts PORTAL_PRIVATE_HOSTS names. Everything else is refused (portalFetch).
 */
export function portalHostsOnPrivateAddresses(config: Pick<Config, 'production' | 'clients' | 'portalPrivateHosts'>): Set<string> {
  const hosts = new Set(config.portalPrivateHosts);
  if (!config.production) {
    for (const c of config.clients) {
      for (const uri of [c.jwks_uri, c.backchannel_logout_uri]) if (uri) hosts.add(new URL(uri).hostname.toLowerCase());
    }
  }
  return hosts;
}

type Fetch = (url: string | URL | Request, options?: RequestInit) => Promise<Response>;

/** Loopback, private, link-local, shared, documentation, multicast and reserved addresses (RFC 6890 and friends). */
const SPECIAL_USE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  SPECIAL_USE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  SPECIAL_USE.addSubnet(net, prefix, 'ipv6');

export function isSpecialUseAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return SPECIAL_USE.check(mapped[1]!, 'ipv4');
  return SPECIAL_USE.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/**
 * The provider's outgoing requests (a portal's jwks_uri, its logout tokens) never go to a host that
 * resolves to a loopback, private or other special-use address (request forgery against the internal
 * network), unless the host is in `allowedHosts` (portalHostsOnPrivateAddresses). The host's addresses
 * are checked before the request; the provider also hands its own dispatcher, which checks the
 * address actually connected to (against DNS rebinding), and that stays for every host not allowed.
 */
export function portalFetch(allowedHosts: Iterable<string>, lookup: (host: string) => Promise<string[]> = resolveAll): Fetch {
  const allowed = new Set([...allowedHosts].map((h) => h.toLowerCase()));
  return async (url, options) => {
    const href = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    const host = new URL(href).hostname.toLowerCase();
    if (allowed.has(host)) {
      const { dispatcher: _checked, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    }
    const bare = host.replace(/^\[|\]$/g, '');
    const addresses = isIP(bare) ? [bare] : await lookup(bare);
    if (addresses.some(isSpecialUseAddress)) throw new Error(`${host} resolves to a special-use IP address (allow it with PORTAL_PRIVATE_HOSTS)`);
    return globalThis.fetch(url, options);
  };
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}
