import { lookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv6 } from 'node:net';
import type Provider from 'oidc-provider';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { announceQueuedLogouts, queueLogout } from './backchannel-outbox.js';

/** Posts one logout token (built and signed by the provider with its keys and issuer) to a portal. */
export type SendLogout = (logout: { clientId: string; accountId: string; sid: string | null }) => Promise<'sent' | 'no_back_channel'>;

type BackchannelLogout = (this: InstanceType<Provider['Client']>, sub: string, sid?: string) => Promise<void>;

/**
 * The provider sends logout tokens itself during RP-initiated logout, while the member waits, and
 * forgets one that fails. Its `Client#backchannelLogout` becomes a queueing into the outbox (so the
 * member's page never waits on a portal and no token is lost); the provider's own implementation,
 * which builds the token (sub as in the ID token, `sid` when the portal asks for it, `events`, `jti`,
 * `iat`, no nonce), signs it with the society's keys and posts it, is what the delivery calls.
 */
export function deferBackchannelLogouts(provider: Provider, sql: Sql, log: Logger): SendLogout {
  const prototype = provider.Client.prototype as unknown as { backchannelLogout: BackchannelLogout };
  const send = prototype.backchannelLogout;
  prototype.backchannelLogout = async function queue(sub, sid) {
    await queueLogout(sql, { clientId: this.clientId, accountId: sub, sid });
    announceQueuedLogouts();
  };
  // What the provider reports as a back-channel error is now a failure to queue (the database).
  provider.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) => {
    log.error({ err, event: 'backchannel_logout.not_queued', client: client?.clientId }, 'back-channel logout token not queued');
  });
  return async ({ clientId, accountId, sid }) => {
    const client = await provider.Client.find(clientId).catch(() => undefined);
    if (!client?.backchannelLogoutUri) return 'no_back_channel';
    await send.call(client, accountId, sid ?? undefined);
    return 'sent';
  };
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
 * The provider's outgoing requests (logout tokens) never go to a host that resolves to a loopback,
 * private or other special-use address (request forgery against the internal network), unless the
 * host is named in `allowedHosts` (Config.backchannelPrivateHosts: BACKCHANNEL_ALLOW_PRIVATE_HOSTS,
 * and outside production the portals' configured back-channel hosts). The host's addresses are
 * checked before the request; the provider also hands its own dispatcher, which checks the address
 * actually connected to (against DNS rebinding), and that stays for every host not allowed.
 */
export function backchannelFetch(allowedHosts: readonly string[], lookup: (host: string) => Promise<string[]> = resolveAll): Fetch {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return async (url, options) => {
    const href = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    const host = new URL(href).hostname.toLowerCase();
    if (allowed.has(host)) {
      const { dispatcher: _checked, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    }
    const bare = host.replace(/^\[|\]$/g, '');
    const addresses = isIP(bare) ? [bare] : await lookup(bare);
    if (addresses.some(isSpecialUseAddress)) throw new Error(`${host} resolves to a special-use IP address (allow it with BACKCHANNEL_ALLOW_PRIVATE_HOSTS)`);
    return globalThis.fetch(url, options);
  };
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}
