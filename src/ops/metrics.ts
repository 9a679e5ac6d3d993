import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's one metrics registry, scraped at the management port's /metrics (src/ops/management.ts).
 * Names follow Keycloak's (keycloak_user_events_total, keycloak_credentials_password_hashing_validations_total,
 * http_server_requests_seconds) with our prefix. Labels are bounded: the society (configured ids), an
 * event or outcome from a fixed list, a route template; never a member, an address, a token or an
 * interaction id.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/** A society's label for work that runs for none (start-up, the admin CLI). */
export const NO_SOCIETY = 'none';

/** A counter in the registry. */
const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
  new Counter<L>({ name, help, labelNames, registers: [metricsRegistry] });

const userEvents = counter('kosmo_user_events_total', "Members' events: logins, login errors by reason, token grants, logouts, lockouts, credential changes", [
  'society',
  'event',
  'error',
]);

const passwordValidations = counter(
  'kosmo_password_hash_validations_total',
  "Password verifications (one bcrypt comparison each), by outcome: valid or invalid (an unknown user ID's too)",
  ['outcome'],
);

/** Buckets for the login's SLO (0.25 s) and the back-channel's: a request is good under 0.25 s. */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const httpRequests = new Histogram({
  name: 'http_server_requests_seconds',
  help: 'Requests on the public port, by society, method, route template and status',
  labelNames: ['society', 'method', 'route', 'status'] as const,
  buckets: REQUEST_BUCKETS,
  registers: [metricsRegistry],
});

const mailsSent = counter('kosmo_mail_sent_total', 'Mails handed to the SMTP relay, by society, template and outcome (sent, failed after its retries)', [
  'society',
  'template',
  'outcome',
]);

const backchannelDeliveries = counter(
  'kosmo_backchannel_logout_deliveries_total',
  "Back-channel logout tokens delivered to portals' logout endpoints, by society and outcome",
  ['society', 'outcome'],
);

/** What a database pool reports (pg's Pool): connections open, idle, and requests waiting for one. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}
const pools = new Set<PoolStats>();
const poolGauge = (name: string, help: string, read: (pool: PoolStats) => number) =>
  new Gauge({
    name,
    help,
    registers: [metricsRegistry],
    collect() {
      this.set([...pools].reduce((sum, pool) => sum + read(pool), 0));
    },
  });
poolGauge('kosmo_db_pool_connections_in_use', 'PostgreSQL connections checked out of the pool', (p) => p.totalCount - p.idleCount);
poolGauge('kosmo_db_pool_connections_idle', 'PostgreSQL connections open and idle in the pool', (p) => p.idleCount);
poolGauge('kosmo_db_pool_requests_waiting', 'Requests waiting for a PostgreSQL connection', (p) => p.waitingCount);

/** Reports `pool` in the pool gauges until the returned function is called. */
export function observeDatabasePool(pool: PoolStats): () => void {
  pools.add(pool);
  return () => pools.delete(pool);
}

/** One member's event, named as Keycloak names its user events (`login`, `login_error` …); `error` '' when it is none. */
export function countUserEvent(society: string | undefined, event: string, error = ''): void {
  userEvents.inc({ society: society ?? NO_SOCIETY, event, error });
}

export function countPasswordValidation(outcome: 'valid' | 'invalid'): void {
  passwordValidations.inc({ outcome });
}

export function observeRequest(labels: { society: string; method: string; route: string; status: number }, seconds: number): void {
  httpRequests.observe({ ...labels, status: String(labels.status) }, seconds);
}

export function countMail(society: string | undefined, template: string, outcome: 'sent' | 'failed'): void {
  mailsSent.inc({ society: society ?? NO_SOCIETY, template, outcome });
}

/** One back-channel logout delivery to a portal: `delivered`, `failed` (to be retried) or `abandoned`. */
export function countBackchannelLogoutDelivery(society: string, outcome: string): void {
  backchannelDeliveries.inc({ society, outcome });
}
