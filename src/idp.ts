import type { Server } from 'node:http';
import { createServer } from 'node:http';
import path from 'node:path';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { configForSociety, type Config, type Society } from './config/index.js';
import type { Logger } from './logger.js';
import type { DatabasePool, Orm } from './db/orm.js';
import { Sql } from './db/sql.js';
import { checkApplicationRole, openApplicationDatabase, type DatabaseUrls } from './db/roles.js';
import { withSociety } from './db/society.js';
import { deleteExpiredRateLimits } from './db/rate-limit.js';
import { Messages } from './i18n/index.js';
import { PasswordHasher } from './members/password.js';
import { deleteStaleUnknownIdLockouts } from './members/lockout-store.js';
import { deleteEndedSessionDevices, recordSessionSeen } from './members/sessions.js';
import { checkRegisteredClients, createProvider } from './oidc/provider.js';
import { deleteExpiredOidcPayloads } from './oidc/adapter.js';
import { KEY_CHECK_MS, loadOrCreateSigningKeys, type SigningKeySet } from './oidc/keys.js';
import { deferBackchannelLogouts, type SendLogout } from './oidc/backchannel.js';
import { BackchannelDelivery, type DeliveryOutcome, type DeliveryPolicy } from './oidc/backchannel-delivery.js';
import { deleteOldGivenUpLogouts } from './oidc/backchannel-outbox.js';
import { createHttpApp } from './http/app.js';
import { databaseAnswers } from './http/health.js';
import { countBackchannelLogoutDelivery, countUserEvent, observeDatabasePool } from './ops/metrics.js';
import { traceDatabasePool, tracingEnabled } from './ops/tracing.js';
import { createFrontApp, type SocietyHandler } from './http/front.js';
import compose from 'koa-compose';
import { createViewEnvironment } from './http/render.js';
import { providerPages } from './http/provider-pages.js';
import { Mailer } from './mail/mailer.js';
import { createSmtpTransport } from './mail/transport.js';

/** What serves one society: its configuration, provider, pages and mailer, made when first needed. */
export interface SocietyServer {
  society: Society;
  /** The deployment's configuration with the society's issuer, policy, terms and portals (configForSociety). */
  config: Config;
  provider: Provider;
  /** The society's own app: our pages, then its provider (src/http/app.ts); the front app routes to it. */
  app: Koa;
  mail: Mailer;
  /** Statements for this society, from anywhere (start-up work, tests); requests set their own. */
  sql: Sql;
  /** Which stored keys it signs and verifies with (undefined: a key file, which does not rotate). */
  keys?: SigningKeySet;
  /** Posts one queued back-channel logout token, built and signed by this society's provider. */
  sendLogout: SendLogout;
}

export interface Idp {
  /** The default society's configuration (`config.societies` has them all). */
  config: Config;
  /** The default society's id. */
  society: string;
  orm: Orm;
  /** Statements for the default society, from anywhere (start-up work, tests); requests set their own. */
  sql: Sql;
  /** The default society's provider (the current one: a key rotation builds a new one). */
  readonly provider: Provider;
  /** The app the deployment listens with: it routes each request to its society (src/http/front.ts). */
  app: Koa;
  messages: Messages;
  hasher: PasswordHasher;
  /** The default society's mailer. */
  mail: Mailer;
  /** A configured society's server, made the first time it is asked for and kept. */
  forSociety(id: string): Promise<SocietyServer>;
  /** Deletes expired protocol state and counters of every society; also runs on a timer while listening. */
  cleanup(): Promise<void>;
  /**
   * Reads the stored signing keys of every society served so far and, where a key was added, starts
   * or stops signing, rebuilds its provider (`keys rotate`); also runs on a timer while listening.
   */
  refreshSigningKeys(): Promise<void>;
  /** Delivers every society's back-channel logout outbox (src/oidc/backchannel-delivery.ts): started by `listen`. */
  backchannel: BackchannelDelivery;
  listen(port?: number, host?: string): Promise<{ url: string; server: Server }>;
  /** Should it get traffic: not draining, and its database answers within a bound (the management port's /health/ready). */
  ready(): Promise<{ ready: boolean; reason?: string }>;
  /** Stops being ready (SIGTERM): /readyz and /health/ready answer 503, responses close their connections. */
  drain(): void;
  readonly draining: boolean;
  /**
   * Stops taking connections and waits up to `timeoutMs` for the requests in flight to finish, then
   * closes what is left (`close()` does not wait).
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Builds the provider on a database that is already migrated (see `openIdp`). */
export interface IdpOptions {
  /** Routers mounted before each society's provider, such as the development mailbox. */
  extraRoutes?: (sql: Sql) => Koa.Middleware[];
  /** How often each process reads its societies' stored signing keys (KEY_CHECK_MS; tests shorten it). */
  keyCheckMs?: number;
  /** Retries of back-channel logout tokens (src/oidc/backchannel-delivery.ts DEFAULT_DELIVERY_POLICY). */
  backchannelPolicy?: Partial<DeliveryPolicy>;
  /** Told of every try to deliver a logout token: for the deliveries metric. */
  onBackchannelDelivery?: (society: string, outcome: DeliveryOutcome) => void;
}

export async function createIdp(config: Config, log: Logger, orm: Orm, options: IdpOptions = {}): Promise<Idp> {
  // Refuses to serve as a role that could see past row-level security (src/db/roles.ts).
  await checkApplicationRole(orm);
  // Statements for whichever society the work runs for (each request runs for its own).
  const sql = Sql.pool(orm);
  const messages = new Messages(path.resolve('locales'), [path.resolve('locales/mail')]);
  createViewEnvironment('views');
  const hasher = new PasswordHasher(config.bcryptCost);
  if (!config.smtpUrl) log.warn('SMTP_URL is not set: mails cannot be delivered');
  const transport = createSmtpTransport(config.smtpUrl ?? 'smtp://127.0.0.1:1');

  /**
   * One society's server: its signing keys (its jwks.json, or generated once and kept encrypted in
   * its rows), its provider, mailer and pages. A society nobody uses costs only its configuration.
   */
  const build = (society: Society, stored?: SigningKeySet): Promise<SocietyServer> =>
    withSociety(society.id, async () => {
      const societyConfig = configForSociety(config, society);
      const keys = societyConfig.jwks ? undefined : (stored ?? (await loadOrCreateSigningKeys(sql, societyConfig)));
      const jwks = societyConfig.jwks ?? { keys: keys!.keys };
      const provider = createProvider({ config: societyConfig, sql, jwks, pages: providerPages(societyConfig), log });
      await checkRegisteredClients(provider, societyConfig, jwks);
      // Where each session is used from, for the account console's list of devices.
      provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
        const session = ctx.oidc.session;
        if (!session?.accountId || !session.uid) return;
        recordSessionSeen(sql, { sessionUid: session.uid, memberId: session.accountId, userAgent: ctx.get('user-agent'), ip: ctx.ip }).catch((err: unknown) =>
          log.warn({ err }, 'session device not recorded'),
        );
      });
      countProviderEvents(provider, society.id);
      const mail = new Mailer({
        transport,
        messages,
        viewsDir: 'views',
        from: society.policy.mail.noReplyFrom,
        society: society.id,
        logger: log,
        unionName: society.policy.name,
        logKey: config.secretsKey,
      });
      const societyScope: Koa.Middleware = (_ctx, next) => withSociety(society.id, next);
      const app = createHttpApp({
        config: societyConfig,
        societyScope,
        provider,
        sql,
        orm,
        hasher,
        log,
        messages,
        mail,
        extraRoutes: options.extraRoutes?.(sql),
      });
      const sendLogout = deferBackchannelLogouts(provider, sql, log);
      return { society, config: societyConfig, provider, app, mail, sql: sql.forSociety(society.id), keys, sendLogout };
    });

  const servers = new Map<string, Promise<SocietyServer>>();
  const handlers = new WeakMap<SocietyServer, SocietyHandler>();
  const forSociety = (id: string): Promise<SocietyServer> => {
    let server = servers.get(id);
    if (!server) {
      const society = config.societies.find((s) => s.id === id);
      if (!society) return Promise.reject(new Error(`no society ${id}`));
      server = build(society);
      // A society that failed to start (its database unreachable) is tried again by the next request.
      server.catch(() => servers.delete(id));
      servers.set(id, server);
    }
    return server;
  };
  const handlerOf = async (society: Society): Promise<SocietyHandler> => {
    const server = await forSociety(society.id);
    let handler = handlers.get(server);
    if (!handler) {
      const composed = compose(server.app.middleware);
      handler = (ctx) => composed(ctx, async () => {});
      handlers.set(server, handler);
    }
    return handler;
  };
  // The default society is built at start: a deployment that cannot serve it does not start.
  const main = await forSociety(config.society.id);
  const pool = await orm.em.getConnection().getNativeClient();
  const unobservePool = observeDatabasePool(pool);
  if (tracingEnabled()) traceDatabasePool(pool as unknown as Parameters<typeof traceDatabasePool>[0]);
  let draining = false;
  const mainHandler = await handlerOf(config.society);
  const app = createFrontApp({
    societies: config.societies,
    open: handlerOf,
    health: mainHandler,
    draining: () => draining,
    proxy: config.trustProxy,
    keys: config.cookieKeys,
    log,
    messages,
  });
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  let keyTimer: NodeJS.Timeout | undefined;
  /** The default society's server as it is now (a key rotation replaces it). */
  let current = main;
  // Every society's outbox, wherever its tokens were queued (this process, another, the admin CLI).
  const backchannel = new BackchannelDelivery({
    societies: config.societies.map((s) => s.id),
    sql,
    senderOf: async (id) => (await forSociety(id)).sendLogout,
    log,
    policy: options.backchannelPolicy,
    onDelivery: (society, outcome) => {
      countBackchannelLogoutDelivery(society, outcome);
      options.onBackchannelDelivery?.(society, outcome);
    },
  });

  const cleanup = async () => {
    for (const society of config.societies) {
      await withSociety(society.id, async () => {
        await deleteExpiredOidcPayloads(sql);
        await deleteExpiredRateLimits(sql);
        await deleteStaleUnknownIdLockouts(sql);
        await deleteEndedSessionDevices(sql);
        await deleteOldGivenUpLogouts(sql);
      });
    }
  };

  const refreshSigningKeys = async () => {
    for (const [id, serving] of servers) {
      const served = await serving.catch(() => undefined);
      if (!served?.keys) continue;
      const stored = await withSociety(id, () => loadOrCreateSigningKeys(sql, served.config));
      if (stored.fingerprint === served.keys.fingerprint || servers.get(id) !== serving) continue;
      const next = build(served.society, stored);
      // Requests already inside the old provider finish there; everything they stored is in PostgreSQL.
      servers.set(id, next);
      next.catch(() => servers.set(id, serving));
      const rebuilt = await next;
      if (id === config.society.id) current = rebuilt;
      log.info({ society: id, keys: stored.fingerprint }, 'signing keys changed');
    }
  };

  return {
    config,
    society: config.society.id,
    orm,
    sql: main.sql,
    get provider() {
      return current.provider;
    },
    app,
    messages,
    hasher,
    mail: main.mail,
    forSociety,
    cleanup,
    refreshSigningKeys,
    backchannel,
    async listen(port = config.port, host = config.host) {
      server = createServer(app.callback());
      await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(port, host, resolve));
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      timer = setInterval(() => cleanup().catch((err) => log.warn({ err }, 'cleanup failed')), 5 * 60 * 1000);
      timer.unref();
      keyTimer = setInterval(() => refreshSigningKeys().catch((err) => log.warn({ err }, 'signing keys not read')), options.keyCheckMs ?? KEY_CHECK_MS);
      keyTimer.unref();
      backchannel.start();
      return { url: `http://localhost:${actualPort}`, server };
    },
    async ready() {
      if (draining) return { ready: false, reason: 'shutting down' };
      try {
        await databaseAnswers(sql.forSociety(config.society.id));
        return { ready: true };
      } catch (err) {
        log.warn({ err }, 'not ready: database unavailable');
        return { ready: false, reason: 'database unavailable' };
      }
    },
    drain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    async close(options = {}) {
      draining = true;
      if (timer) clearInterval(timer);
      if (keyTimer) clearInterval(keyTimer);
      await backchannel.stop();
      unobservePool();
      // The relay's connections kept open (src/mail/transport.ts).
      transport.close();
      if (!server) return;
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      if (options.timeoutMs) {
        // Idle keep-alive connections close now (server.close); the busy ones when their response is sent.
        let timeout: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timeout = setTimeout(() => resolve('late'), options.timeoutMs);
        });
        const outcome = await Promise.race([closed, late]);
        clearTimeout(timeout);
        if (outcome === 'late') log.warn({ timeoutMs: options.timeoutMs }, 'requests still in flight at the shutdown timeout: closing their connections');
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * The provider's own events in `kosmo_user_events_total`: a code or refresh token redeemed
 * (`code_to_token`, `refresh_token`) or refused (`…_error`, with the OAuth error code), and a logout.
 */
function countProviderEvents(provider: Provider, society: string): void {
  const grantEvent = (ctx: KoaContextWithOIDC) => {
    const type = ctx.oidc?.params?.grant_type;
    return type === 'authorization_code' ? 'code_to_token' : type === 'refresh_token' ? 'refresh_token' : 'grant';
  };
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => countUserEvent(society, grantEvent(ctx)));
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: unknown }) => {
    const code = typeof err?.error === 'string' && /^[a-z_]{1,40}$/.test(err.error) ? err.error : 'server_error';
    countUserEvent(society, `${grantEvent(ctx)}_error`, code);
  });
  provider.on('end_session.success', () => countUserEvent(society, 'logout'));
}

/** The application's ORM on a database migrated by its owner (src/db/roles.ts); `pool` from the config (DATABASE_POOL_*). */
export function openDatabase(urls: DatabaseUrls, pool?: DatabasePool): Promise<Orm> {
  return openApplicationDatabase(urls, pool);
}
