import type { Server } from 'node:http';
import { createServer } from 'node:http';
import path from 'node:path';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { configForSociety, type Config, type Society } from './config/index.js';
import type { Logger } from './logger.js';
import type { Orm } from './db/orm.js';
import { Sql } from './db/sql.js';
import { checkApplicationRole, openApplicationDatabase, type DatabaseUrls } from './db/roles.js';
import { withSociety } from './db/society.js';
import { deleteExpiredRateLimits } from './db/rate-limit.js';
import { Messages } from './i18n/index.js';
import { PasswordHasher } from './members/password.js';
import { deleteStaleUnknownIdLockouts } from './members/lockout-store.js';
import { deleteEndedSessionDevices, recordSessionSeen } from './members/sessions.js';
import { createProvider } from './oidc/provider.js';
import { deleteExpiredOidcPayloads } from './oidc/adapter.js';
import { loadOrCreateSigningKeys } from './oidc/keys.js';
import { deferBackchannelLogouts, type SendLogout } from './oidc/backchannel.js';
import { BackchannelDelivery, type DeliveryOutcome, type DeliveryPolicy } from './oidc/backchannel-delivery.js';
import { deleteOldGivenUpLogouts } from './oidc/backchannel-outbox.js';
import { createHttpApp } from './http/app.js';
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
  /** The default society's provider. */
  provider: Provider;
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
  /** Delivers every society's back-channel logout outbox (src/oidc/backchannel-delivery.ts): started by `listen`. */
  backchannel: BackchannelDelivery;
  listen(port?: number, host?: string): Promise<{ url: string; server: Server }>;
  close(): Promise<void>;
}

/** Builds the provider on a database that is already migrated (see `openIdp`). */
export interface IdpOptions {
  /** Routers mounted before each society's provider, such as the development mailbox. */
  extraRoutes?: (sql: Sql) => Koa.Middleware[];
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
  const build = (society: Society): Promise<SocietyServer> =>
    withSociety(society.id, async () => {
      const societyConfig = configForSociety(config, society);
      const jwks = societyConfig.jwks ?? (await loadOrCreateSigningKeys(sql, societyConfig));
      const provider = createProvider({ config: societyConfig, sql, jwks, pages: providerPages(societyConfig), log });
      // Where each session is used from, for the account console's list of devices.
      provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
        const session = ctx.oidc.session;
        if (!session?.accountId || !session.uid) return;
        recordSessionSeen(sql, { sessionUid: session.uid, memberId: session.accountId, userAgent: ctx.get('user-agent'), ip: ctx.ip }).catch((err: unknown) =>
          log.warn({ err }, 'session device not recorded'),
        );
      });
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
      return { society, config: societyConfig, provider, app, mail, sql: sql.forSociety(society.id), sendLogout };
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
  const mainHandler = await handlerOf(config.society);
  const app = createFrontApp({
    societies: config.societies,
    open: handlerOf,
    health: mainHandler,
    proxy: config.trustProxy,
    keys: config.cookieKeys,
    log,
    messages,
  });
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Every society's outbox, wherever its tokens were queued (this process, another, the admin CLI).
  const backchannel = new BackchannelDelivery({
    societies: config.societies.map((s) => s.id),
    sql,
    senderOf: async (id) => (await forSociety(id)).sendLogout,
    log,
    policy: options.backchannelPolicy,
    onDelivery: options.onBackchannelDelivery,
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

  return {
    config,
    society: config.society.id,
    orm,
    sql: main.sql,
    provider: main.provider,
    app,
    messages,
    hasher,
    mail: main.mail,
    forSociety,
    cleanup,
    backchannel,
    async listen(port = config.port, host = config.host) {
      server = createServer(app.callback());
      await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(port, host, resolve));
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      timer = setInterval(() => cleanup().catch((err) => log.warn({ err }, 'cleanup failed')), 5 * 60 * 1000);
      timer.unref();
      backchannel.start();
      return { url: `http://localhost:${actualPort}`, server };
    },
    async close() {
      if (timer) clearInterval(timer);
      await backchannel.stop();
      if (server) {
        server.closeAllConnections?.();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
    },
  };
}

/** The application's ORM on a database migrated by its owner (src/db/roles.ts). */
export function openDatabase(urls: DatabaseUrls): Promise<Orm> {
  return openApplicationDatabase(urls);
}
