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
