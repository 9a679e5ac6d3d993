import type { Logger } from '../logger.js';
import type { Sql } from '../db/sql.js';
import { withSociety } from '../db/society.js';
import { claimDueLogouts, forgetLogout, onQueuedLogouts, recordFailedLogout, type QueuedLogout } from './backchannel-outbox.js';
import type { SendLogout } from './backchannel.js';

export interface DeliveryPolicy {
  /** How often every society's outbox is looked at for due tokens (tokens queued by another process). */
  pollSeconds: number;
  /** A token being delivered is left alone this long by other processes (longer than one POST). */
  leaseSeconds: number;
  /** The first retry waits this long, each next one twice as long, up to `maxDelaySeconds`. */
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  /** Tries before a token is given up (kept with `gave_up_at`, logged). */
  maxAttempts: number;
}

/** About a day of tries: 10 s, 20 s, 40 s … capped at an hour. */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = { pollSeconds: 10, leaseSeconds: 30, firstDelaySeconds: 10, maxDelaySeconds: 3600, maxAttempts: 30 };

/** What became of one try: `delivered`, `failed` (tried again later) or `gave_up` (the last try failed). */
export type DeliveryOutcome = 'delivered' | 'failed' | 'gave_up';

/** The wait after the `attempts`-th failed try. */
export function retryDelaySeconds(policy: DeliveryPolicy, attempts: number): number {
  return Math.min(policy.maxDelaySeconds, policy.firstDelaySeconds * 2 ** Math.max(0, attempts - 1));
}

const BATCH = 20;
const SOCIETIES_AT_ONCE = 4;

/**
 * Delivers the back-channel logout outbox of every society: on a poll, and at once when this
 * process queued something (announceQueuedLogouts). A society's provider is built only when it has
 * a token due. Each failed try is one JSON log line (portal, try, error; no token, no member) and one
 * `onDelivery` call, for the metric.
 */
export class BackchannelDelivery {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(
    private readonly deps: {
      societies: readonly string[];
      sql: Sql;
      /** The society's provider's sender (building the society's server if needed). */
      senderOf(society: string): Promise<SendLogout>;
      log: Logger;
      policy?: Partial<DeliveryPolicy>;
      onDelivery?: (society: string, outcome: DeliveryOutcome) => void;
    },
  ) {}

  get policy(): DeliveryPolicy {
    return { ...DEFAULT_DELIVERY_POLICY, ...this.deps.policy };
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = onQueuedLogouts((society) => {
      if (this.deps.societies.includes(society)) void this.deliverDue(society);
    });
    this.timer = setInterval(() => void this.deliverAll(), this.policy.pollSeconds * 1000);
    this.timer.unref();
    void this.deliverAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Every society's due tokens, a few societies at a time (hundreds of societies share one pool). */
  async deliverAll(): Promise<void> {
    const waiting = [...this.deps.societies];
    const lane = async () => {
      for (let society = waiting.shift(); society !== undefined && !this.stopped; society = waiting.shift()) await this.deliverDue(society);
    };
    await Promise.all(Array.from({ length: Math.min(SOCIETIES_AT_ONCE, waiting.length) }, lane));
  }

  /** Delivers what is due in `society` now; a call while one runs makes it look once more after. */
  deliverDue(society: string): Promise<void> {
    const current = this.running.get(society);
    if (current) {
      this.again.add(society);
      return current;
    }
    const run = (async () => {
      try {
        do {
          this.again.delete(society);
          await withSociety(society, () => this.deliverBatches(society));
        } while (this.again.has(society) && !this.stopped);
      } catch (err) {
        this.deps.log.warn({ err, society }, 'back-channel logout delivery failed to run');
      } finally {
        this.running.delete(society);
      }
    })();
    this.running.set(society, run);
    return run;
  }

  private async deliverBatches(society: string): Promise<void> {
    const policy = this.policy;
    let send: SendLogout | undefined;
    for (;;) {
      if (this.stopped) return;
      const due = await claimDueLogouts(this.deps.sql, BATCH, policy.leaseSeconds);
      if (due.length === 0) return;
      send ??= await this.deps.senderOf(society);
      await Promise.all(due.map((logout) => this.deliverOne(society, send!, logout, policy)));
    }
  }

  private async deliverOne(society: string, send: SendLogout, logout: QueuedLogout, policy: DeliveryPolicy): Promise<void> {
    const { sql, log, onDelivery } = this.deps;
    try {
      const result = await send(logout);
      await forgetLogout(sql, logout.id);
      if (result === 'sent') onDelivery?.(society, 'delivered');
    } catch (err) {
      const giveUp = logout.attempts >= policy.maxAttempts;
      const delaySeconds = retryDelaySeconds(policy, logout.attempts);
      const error = describeFailure(err);
      await recordFailedLogout(sql, logout.id, { error, delaySeconds, giveUp });
      onDelivery?.(society, giveUp ? 'gave_up' : 'failed');
      log.warn(
        {
          event: 'backchannel_logout.failed',
          society,
          client: logout.clientId,
          attempt: logout.attempts,
          gaveUp: giveUp,
          retryInSeconds: giveUp ? null : delaySeconds,
          error,
        },
        giveUp ? 'back-channel logout given up' : 'back-channel logout failed; will retry',
      );
    }
  }
}

/** The failure in one line, without the token (the provider's errors name only the URI and status). */
function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
