import type { Server } from 'node:http';
import { createServer } from 'node:http';
import path from 'node:path';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from './config/index.js';
import type { Logger } from './logger.js';
import type { Orm } from './db/orm.js';
import { Sql } from './db/sql.js';
import { checkApplicationRole, openApplicationDatabase, type DatabaseUrls } from './db/roles.js';
import { DEFAULT_SOCIETY, withSociety } from './db/society.js';
import { deleteExpiredRateLimits } from './db/rate-limit.js';
import { Messages } from './i18n/index.js';
import { PasswordHasher } from './members/password.js';
import { deleteStaleUnknownIdLockouts } from './members/lockout-store.js';
import { deleteEndedSessionDevices, recordSessionSeen } from './members/sessions.js';
import { createProvider } from './oidc/provider.js';
import { deleteExpiredOidcPayloads } from './oidc/adapter.js';
import { loadOrCreateSigningKeys } from './oidc/keys.js';
import { createHttpApp } from './http/app.js';
import { createViewEnvironment } from './http/render.js';
import { providerPages } from './http/provider-pages.js';
import { Mailer } from './mail/mailer.js';
import { createSmtpTransport } from './mail/transport.js';

export interface Idp {
  config: Config;
  /** The society this deployment serves (one per deployment for now: DEFAULT_SOCIETY). */
  society: string;
  orm: Orm;
  /** Statements for `society`, from anywhere (start-up work, tests); requests set their own. */
  sql: Sql;
  provider: Provider;
  app: Koa;
  messages: Messages;
  hasher: PasswordHasher;
  mail: Mailer;
  /** Deletes expired protocol state and counters; also runs on a timer while listening. */
  cleanup(): Promise<void>;
  listen(port?: number, host?: string): Promise<{ url: string; server: Server }>;
  close(): Promise<void>;
}

/** Builds the provider on a database that is already migrated (see `openIdp`). */
export interface IdpOptions {
  /** Routers mounted before the provider, such as the development mailbox. */
  extraRoutes?: (sql: Sql) => Koa.Middleware[];
}

export async function createIdp(config: Config, log: Logger, orm: Orm, options: IdpOptions = {}): Promise<Idp> {
  // Refuses to serve as a role that could see past row-level security (src/db/roles.ts).
  await checkApplicationRole(orm);
  const society = DEFAULT_SOCIETY;
  // Statements for whichever society the work runs for (each request sets its own: src/http/app.ts).
  const sql = Sql.pool(orm);
  const messages = new Messages(path.resolve('locales'), [path.resolve('locales/mail')]);
  createViewEnvironment('views');
  const hasher = new PasswordHasher(config.bcryptCost);
  const jwks = config.jwks ?? (await withSociety(society, () => loadOrCreateSigningKeys(sql, config)));
  const provider = createProvider({ config, sql, jwks, pages: providerPages(config), log });
  // Where each session is used from, for the account console's list of devices.
  provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session;
    if (!session?.accountId || !session.uid) return;
    recordSessionSeen(sql, { sessionUid: session.uid, memberId: session.accountId, userAgent: ctx.get('user-agent'), ip: ctx.ip }).catch((err: unknown) =>
      log.warn({ err }, 'session device not recorded'),
    );
  });
  if (!config.smtpUrl) log.warn('SMTP_URL is not set: mails cannot be delivered');
  const mail = new Mailer({
    transport: createSmtpTransport(config.smtpUrl ?? 'smtp://127.0.0.1:1'),
    messages,
    viewsDir: 'views',
    from: config.union.mail.noReplyFrom,
    logger: log,
    unionName: config.union.name,
    logKey: config.secretsKey,
  });
  const societyScope: Koa.Middleware = (_ctx, next) => withSociety(society, next);
  const app = createHttpApp({ config, societyScope, provider, sql, orm, hasher, log, messages, mail, extraRoutes: options.extraRoutes?.(sql) });
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;

  const cleanup = () =>
    withSociety(society, async () => {
      await deleteExpiredOidcPayloads(sql);
      await deleteExpiredRateLimits(sql);
      await deleteStaleUnknownIdLockouts(sql);
      await deleteEndedSessionDevices(sql);
    });

  return {
    config,
    society,
    orm,
    sql: sql.forSociety(society),
    provider,
    app,
    messages,
    hasher,
    mail,
    cleanup,
    async listen(port = config.port, host = config.host) {
      server = createServer(app.callback());
      await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(port, host, resolve));
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      timer = setInterval(() => cleanup().catch((err) => log.warn({ err }, 'cleanup failed')), 5 * 60 * 1000);
      timer.unref();
      return { url: `http://localhost:${actualPort}`, server };
    },
    async close() {
      if (timer) clearInterval(timer);
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
