import type Koa from 'koa';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createLogger } from './logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { createIdp, openDatabase } from './idp.js';
import { seedDemoMembers, demoMembersWithPrintedPassword, DEMO_MEMBERS_BY_SOCIETY } from './members/demo-seed.js';
import { Sql } from './db/sql.js';
import type { DevSmtpServer } from './mail/dev-smtp-server.js';
import { accountConsoleLinks } from './oidc/provider.js';
import { startManagementServer } from './ops/management.js';
import { startTracing } from './ops/tracing.js';
import type { Idp } from './idp.js';

/** Start everything: config -> database -> provider -> http (-> demo portal in development). */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.lines) process.stderr.write(`kosmo-idp: configuration error: ${line}\n`);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const tracing = config.tracing ? await startTracing({ ...config.tracing, log }) : undefined;
  // The management port first: /health/live answers while the database and the societies start,
  // /health/started once the default society is built.
  let started: Idp | undefined;
  const management = await startManagementServer({
    port: config.managementPort,
    host: config.host,
    log,
    probes: {
      started: () => started !== undefined,
      ready: () => (started ? started.ready() : Promise.resolve({ ready: false, reason: 'starting' })),
    },
  });
  let embedded: EmbeddedDatabase | undefined;
  let urls = config.databaseUrl && config.migrationDatabaseUrl ? { appUrl: config.databaseUrl, ownerUrl: config.migrationDatabaseUrl } : undefined;
  if (!urls) {
    embedded = await startEmbeddedPostgres(path.join(config.dataDir, 'postgres'), config.embeddedPgPort, log);
    urls = { appUrl: embedded.appUrl, ownerUrl: embedded.ownerUrl };
  }
  // Migrations as the owner role; the server itself connects as the application role.
  const orm = await openDatabase(urls, config.databasePool);
  // Development without SMTP_URL: mail goes to an SMTP server in this process, readable at /dev/mailbox.
  // Development-only code (and its devDependencies, such as mailparser) is loaded only here: the
  // production image has neither.
  let devSmtp: DevSmtpServer | undefined;
  if (!config.smtpUrl && !config.production) {
    const { startDevSmtpServer } = await import('./mail/dev-smtp-server.js');
    // Each society's mail lands in its own mailbox (/dev/mailbox under its issuer).
    devSmtp = await startDevSmtpServer({
      port: 0,
      sql: Sql.pool(orm),
      societies: config.societies.map((s) => s.id),
      defaultSociety: config.society.id,
      logger: log,
    });
    config.smtpUrl = devSmtp.url;
  }
  const devMailbox = config.production ? undefined : (await import('./http/dev/mailbox.js')).devMailboxRouter;
  const idp = await createIdp(config, log, orm, {
    extraRoutes: devMailbox ? (sql) => [devMailbox(sql).routes() as unknown as Koa.Middleware] : undefined,
  });
  const { url } = await idp.listen();
  started = idp;

  // Every society: its demo members (development), its demo portal (a client named <id>-demo-portal,
  // on the port of its redirect URI) and what the banner says of it.
  const portals: { url: string; close(): Promise<void> }[] = [];
  const lines = ['', `  kosmo-idp (OpenID Connect provider), listening on ${url}`];
  for (const society of config.societies) {
    const server = await idp.forSociety(society.id);
    const demo = DEMO_MEMBERS_BY_SOCIETY[society.id] ?? [];
    const seeded = config.production || demo.length === 0 ? false : await seedDemoMembers(server.sql, idp.hasher, server.config.terms.version, demo);
    const working = config.production ? [] : await demoMembersWithPrintedPassword(server.sql, idp.hasher, demo);
    const demoClient = server.config.clients.find((c) => c.client_id === `${society.id}-demo-portal`);
    let portal: { url: string; close(): Promise<void> } | undefined;
    // A FAPI 2.0 demo portal (private_key_jwt) makes its key once in the data folder and publishes it.
    const fapi = demoClient?.profile === 'fapi2';
    if (config.demoPortal.enabled && demoClient && (demoClient.client_secret || fapi)) {
      const { startDemoPortal } = await import('./demo-portal/index.js');
      const { demoPortalSigningKey } = await import('./demo-portal/signing-key.js');
      const portalUrl = new URL(demoClient.redirect_uris[0]!).origin;
      portal = await startDemoPortal({
        issuer: server.config.issuer,
        clientId: demoClient.client_id,
        clientSecret: demoClient.client_secret,
        fapi: fapi ? { key: await demoPortalSigningKey(path.join(config.dataDir, 'demo-portal'), demoClient.client_id) } : undefined,
        portalUrl,
        port: Number(new URL(portalUrl).port) || config.demoPortal.port,
        logger: log,
        accountLinks: accountConsoleLinks(server.config.issuer, demoClient.client_id),
      });
      portals.push(portal);
    }
    lines.push(
      '',
      `  ${society.policy.name.ja} (${society.id})`,
      `    issuer:              ${server.config.issuer}`,
      portal ? `    demo portal:         ${portal.url}${fapi ? '  (FAPI 2.0: PAR, private_key_jwt, DPoP)' : ''}` : '',
      devSmtp ? `    development mailbox: ${server.config.issuer}/dev/mailbox` : '',
      ...(config.production || demo.length === 0
        ? []
        : [
            `    demo members${seeded ? ' (seeded now)' : ''}:`,
            // Only passwords that still work: a demo member who changed theirs is named without it.
            ...demo.map((m) =>
              working.includes(m)
                ? `      ${m.userId}  password ${m.initialPassword ?? m.password}${m.initialPassword ? '  (initial password: 記号+番号+生年月日)' : ''}`
                : `      ${m.userId}  (password or user ID changed since seeding)`,
            ),
          ]),
    );
  }
  lines.push(
    '',
    `  management (/metrics, /health/*): ${management.url}`,
    embedded
      ? `  database: embedded PostgreSQL, data in ${path.join(config.dataDir, 'postgres')}`
      : '  database: DATABASE_URL (migrated as MIGRATION_DATABASE_URL)',
    '',
  );
  process.stdout.write(`${lines.filter((l, i, all) => l !== '' || (i > 0 && all[i - 1] !== '')).join('\n')}\n`);

  let stopping = false;
  /**
   * SIGTERM (a rolling restart, a scale-down): not ready first, so the load balancer stops sending
   * (SHUTDOWN_DELAY_SECONDS), then no new connections and the requests in flight finish (up to
   * SHUTDOWN_TIMEOUT_SECONDS). Every login's state is in PostgreSQL: a member mid-login goes on at
   * another process. SIGINT (Ctrl-C at `npm start`) skips the delay.
   */
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    idp.drain();
    const delayMs = signal === 'SIGTERM' ? config.shutdown.delayMs : 0;
    log.info({ signal, delayMs, timeoutMs: config.shutdown.timeoutMs }, 'shutting down: not ready, finishing the requests in flight');
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await idp.close({ timeoutMs: config.shutdown.timeoutMs });
    for (const portal of portals) await portal.close();
    await devSmtp?.close();
    await orm.close();
    await management.close();
    await tracing?.shutdown();
    await embedded?.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  // One line that says why (a rejection may carry no Error at all).
  const reason = err instanceof Error ? err.message : String(err ?? 'unknown error');
  process.stderr.write(`kosmo-idp: failed to start: ${reason}\n`);
  process.exit(1);
});
