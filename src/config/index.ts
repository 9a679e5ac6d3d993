import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { envSchema, type Env } from './env.js';
import type { UnionPolicy } from './union.js';
import type { ResolvedClient } from './clients.js';
import { ConfigError, issueField, Problems, readJson } from './problems.js';
import { loadSocieties, type Society } from './societies.js';

export { ConfigError } from './problems.js';
export type { ResolvedClient } from './clients.js';
export type { Society, SocietyLook } from './societies.js';

export interface Config {
  env: Env['NODE_ENV'];
  production: boolean;
  port: number;
  host: string;
  /** The management listener's port (MANAGEMENT_PORT): /metrics and /health/* (src/ops/management.ts). */
  managementPort: number;
  /** OpenTelemetry tracing (src/ops/tracing.ts): on when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing?: { endpoint: string; serviceName: string };
  /** SIGTERM: not ready for `delayMs` (the load balancer moves on), then requests in flight get up to `timeoutMs`. */
  shutdown: { delayMs: number; timeoutMs: number };
  /** The default society's issuer (see `society`). */
  issuer: string;
  /** The application role (DATABASE_URL). Undefined means: start the embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  /** The owner role the migrations run as (MIGRATION_DATABASE_URL): set exactly when databaseUrl is. */
  migrationDatabaseUrl?: string;
  /** The PostgreSQL pool of each process (DATABASE_POOL_SIZE, DATABASE_POOL_IDLE_SECONDS). */
  databasePool: { size: number; idleSeconds: number };
  dataDir: string;
  /** Where the embedded PostgreSQL listens (EMBEDDED_PG_PORT). */
  embeddedPgPort: number;
  configDir: string;
  cookieKeys: string[];
  /** SECRETS_KEY: the 32-byte key that encrypts secrets at rest (signing keys, TOTP secrets) and keys their HMACs. */
  secretsKey: Buffer;
  /** SECRETS_KEY_PREVIOUS: keys SECRETS_KEY replaced, still accepted for reading (src/secrets.ts). */
  previousSecretsKeys: Buffer[];
  /** Private JWKS from a file in production; undefined means generate once and keep in the database. */
  jwks?: { keys: Record<string, unknown>[] };
  bcryptCost: number;
  logLevel: Env['LOG_LEVEL'];
  trustProxy: boolean;
  /** PORTAL_PRIVATE_HOSTS: portal host names on private addresses the provider may call in production (src/oidc/outbound.ts). */
  portalPrivateHosts: string[];
  smtpUrl?: string;
  demoPortal: { enabled: boolean; port: number; url: string };
  /** Passkeys: the relying-party ID (a registrable domain) and the origins ceremonies may come from. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
  /**
   * Every configured society, in id order (config/societies/<id>/, or the one society of
   * config/union.json). Only the default society is served so far.
   */
  societies: Society[];
  /** The default society: the one SOCIETY_ID names, else the first. `union`, `terms`, `clients` and `issuer` are its. */
  society: Society;
  union: UnionPolicy;
  terms: { version: string; text: { ja: string; en: string } };
  clients: ResolvedClient[];
  /** Which values came from development defaults (production refuses them). */
  developmentDefaults: string[];
}

function readJsonFile(file: string): unknown {
  const problems = new Problems();
  const json = readJson(file, problems);
  problems.throwIfAny();
  return json!.value;
}

/**
 * Passkeys are bound to a relying-party ID: by default the issuer's host name, with the issuer's
 * origin as the only origin. A union serving several host names under one domain sets
 * WEBAUTHN_RP_ID to that domain and lists the origins; every origin must sit on the RP ID.
 */
function webauthnConfig(issuer: string, rpIdSetting: string | undefined, originsSetting: string | undefined, production: boolean): Config['webauthn'] {
  const rpId = rpIdSetting ?? new URL(issuer).hostname;
  const origins = originsSetting
    ? originsSetting
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : [new URL(issuer).origin];
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(`environment: WEBAUTHN_ORIGINS: "${origin}" is not a URL`);
    }
    if (url.origin !== origin) throw new ConfigError(`environment: WEBAUTHN_ORIGINS: "${origin}" must be an origin (scheme://host[:port]) without a path`);
    if (production && url.protocol !== 'https:') throw new ConfigError(`environment: WEBAUTHN_ORIGINS: "${origin}" must be https:// in production`);
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
      throw new ConfigError(`environment: WEBAUTHN_RP_ID: "${rpId}" is not the host of ${origin} nor a domain it belongs to`);
    }
  }
  return { rpId, rpName: 'KOSMO Web', origins };
}

/** A base64 text that is exactly 32 bytes; anything else is not a key (a truncated paste, a hex string). */
function secretsKeyBytes(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && bytes.length === 32 ? bytes : undefined;
}

/**
 * SECRETS_KEY_PREVIOUS: the keys SECRETS_KEY replaced, newest first. A bad entry stops the start,
 * named by its position (never by its value: it is a key).
 */
function previousSecretsKeys(setting: string | undefined, current: Buffer): Buffer[] {
  if (setting === undefined) return [];
  const entries = setting
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const keys: Buffer[] = [];
  entries.forEach((entry, index) => {
    const key = secretsKeyBytes(entry);
    if (!key) {
      const which = entries.length === 1 ? 'the key' : `key ${index + 1} of ${entries.length}`;
      throw new ConfigError(`environment: SECRETS_KEY_PREVIOUS: ${which} must be 32 bytes, base64-encoded (comma-separated keys)`);
    }
    if (!key.equals(current) && !keys.some((k) => k.equals(key))) keys.push(key);
  });
  return keys;
}

/** Development secrets are generated once and kept under dataDir, so restarts keep sessions and keys. */
function developmentSecrets(dataDir: string): { cookieKeys: string[]; secretsKey: string } {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  mkdirSync(dataDir, { recursive: true });
  const secrets = { cookieKeys: [randomBytes(32).toString('base64url')], secretsKey: randomBytes(32).toString('base64') };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const envParsed = envSchema.safeParse(source);
  if (!envParsed.success) {
    const issue = envParsed.error.issues[0]!;
    throw new ConfigError(`environment: ${issueField(issue)}: ${issue.message}`);
  }
  const env = envParsed.data;
  const configDir = path.resolve(env.CONFIG_DIR);
  const dataDir = path.resolve(env.DATA_DIR);
  const production = env.NODE_ENV === 'production';
  const developmentDefaults: string[] = [];

  if (production && env.ISSUER && !env.ISSUER.startsWith('https://')) throw new ConfigError('environment: ISSUER: must be https:// in production');
  const { societies, defaultSociety } = loadSocieties({
    configDir,
    env: source,
    production,
    societyId: env.SOCIETY_ID,
    issuerSet: env.ISSUER !== undefined,
    issuerValue: (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
    demoPortalPort: env.DEMO_PORTAL_PORT,
    staticDir: path.resolve('static'),
  });
  const demoPortalUrl = `http://localhost:${env.DEMO_PORTAL_PORT}`;

  let cookieKeys: string[];
  let secretsKey: string;
  if (env.COOKIE_KEYS && env.SECRETS_KEY) {
    cookieKeys = env.COOKIE_KEYS.split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    secretsKey = env.SECRETS_KEY;
  } else {
    if (!env.COOKIE_KEYS) developmentDefaults.push('COOKIE_KEYS (comma-separated random strings of 32+ characters)');
    if (!env.SECRETS_KEY) developmentDefaults.push('SECRETS_KEY (32 random bytes, base64)');
    const dev = production ? { cookieKeys: [], secretsKey: '' } : developmentSecrets(dataDir);
    cookieKeys = env.COOKIE_KEYS
      ? env.COOKIE_KEYS.split(',')
          .map((k) => k.trim())
          .filter(Boolean)
      : dev.cookieKeys;
    secretsKey = env.SECRETS_KEY ?? dev.secretsKey;
  }
  if (cookieKeys.some((k) => k.length < 32) && production) throw new ConfigError('environment: COOKIE_KEYS: each key needs at least 32 characters');
  const secretsKeyBuf = Buffer.from(secretsKey, 'base64');
  if (!production || env.SECRETS_KEY) {
    if (secretsKeyBuf.length !== 32) throw new ConfigError('environment: SECRETS_KEY: must be 32 bytes, base64-encoded');
  }
  const previousKeys = previousSecretsKeys(env.SECRETS_KEY_PREVIOUS, secretsKeyBuf);

  let jwks: Config['jwks'];
  if (env.JWKS_FILE) {
    const parsed = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).safeParse(readJsonFile(env.JWKS_FILE));
    if (!parsed.success) throw new ConfigError(`${env.JWKS_FILE}: must be a JWKS with at least one private key`);
    if (parsed.data.keys.some((k) => !('d' in k))) throw new ConfigError(`${env.JWKS_FILE}: every key must be a private key`);
    jwks = parsed.data;
  } else if (defaultSociety.jwks) {
    jwks = defaultSociety.jwks;
  }
  // Production signs with keys the operator chose: a key file (JWKS_FILE for the default society, each
  // society's jwks.json), or SIGNING_KEYS=database: keys made once and rotated by `keys rotate`, kept
  // in the database encrypted with SECRETS_KEY.
  const keyless = env.SIGNING_KEYS === 'database' ? [] : societies.filter((s) => !s.jwks && !(s === defaultSociety && jwks));
  if (keyless.length > 0)
    developmentDefaults.push(
      `SIGNING_KEYS=database (keys kept encrypted in the database, rotated with \`keys rotate\`), or JWKS_FILE or config/societies/<id>/jwks.json, for ${keyless.map((s) => s.id).join(', ')}`,
    );
  if (production && !env.SMTP_URL) developmentDefaults.push('SMTP_URL (the mail relay, smtp:// or smtps://)');
  if (!env.DATABASE_URL) developmentDefaults.push('DATABASE_URL and MIGRATION_DATABASE_URL (the embedded database is for development)');
  if (env.DATABASE_URL && !env.MIGRATION_DATABASE_URL) {
    throw new ConfigError('environment: MIGRATION_DATABASE_URL: required with DATABASE_URL (the role that owns the tables and runs the migrations)');
  }
  if (env.MIGRATION_DATABASE_URL && !env.DATABASE_URL) {
    throw new ConfigError('environment: DATABASE_URL: required with MIGRATION_DATABASE_URL (the application role, which owns nothing)');
  }

  if (production && developmentDefaults.length > 0) {
    throw new ConfigError(`NODE_ENV=production refuses development defaults; set ${developmentDefaults.join(', ')}`);
  }

  const issuer = defaultSociety.issuer;
  const webauthn = webauthnConfig(issuer, env.WEBAUTHN_RP_ID, env.WEBAUTHN_ORIGINS, production);
  const demoEnabled = env.DEMO_PORTAL ? env.DEMO_PORTAL === 'true' : !production;

  return {
    env: env.NODE_ENV,
    production,
    port: env.PORT,
    host: env.HOST,
    managementPort: env.MANAGEMENT_PORT,
    tracing: env.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME } : undefined,
    shutdown: { delayMs: env.SHUTDOWN_DELAY_SECONDS * 1000, timeoutMs: env.SHUTDOWN_TIMEOUT_SECONDS * 1000 },
    issuer,
    databaseUrl: env.DATABASE_URL,
    migrationDatabaseUrl: env.MIGRATION_DATABASE_URL,
    databasePool: { size: env.DATABASE_POOL_SIZE, idleSeconds: env.DATABASE_POOL_IDLE_SECONDS },
    embeddedPgPort: env.EMBEDDED_PG_PORT,
    dataDir,
    configDir,
    cookieKeys,
    secretsKey: secretsKeyBuf,
    previousSecretsKeys: previousKeys,
    jwks,
    bcryptCost: env.BCRYPT_COST,
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY === 'true',
    portalPrivateHosts: (env.PORTAL_PRIVATE_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    smtpUrl: env.SMTP_URL,
    webauthn,
    demoPortal: { enabled: demoEnabled, port: env.DEMO_PORTAL_PORT, url: demoPortalUrl },
    societies,
    society: defaultSociety,
    union: defaultSociety.policy,
    terms: defaultSociety.terms,
    clients: defaultSociety.clients,
    developmentDefaults,
  };
}

/**
 * The configuration a society is served with: the deployment's settings (keys, database, mail relay)
 * and the society's own issuer, policy, terms and portals. Passkeys stay bound to the deployment's
 * relying-party ID when the society's issuer is on its host (the path form); a society with a host
 * of its own has its host as RP ID and its origin as the only origin (the host form), unless
 * WEBAUTHN_RP_ID names a domain it belongs to. Its display name is the society's.
 */
export function configForSociety(config: Config, society: Society): Config {
  if (society === config.society) return config;
  const url = new URL(society.issuer);
  const sameOrigin = config.webauthn.origins.includes(url.origin);
  const underRpId = url.hostname === config.webauthn.rpId || url.hostname.endsWith(`.${config.webauthn.rpId}`);
  const webauthn = sameOrigin
    ? config.webauthn
    : underRpId
      ? { ...config.webauthn, origins: [...config.webauthn.origins, url.origin] }
      : { ...config.webauthn, rpId: url.hostname, origins: [url.origin] };
  return {
    ...config,
    issuer: society.issuer,
    society,
    union: society.policy,
    terms: society.terms,
    clients: society.clients,
    // JWKS_FILE is the default society's (a single-society deployment); the others keep their own.
    jwks: society.jwks,
    webauthn,
  };
}

/** The society's path on a shared host (`/sakura` for `https://id.example.jp/sakura`), '' at a host's root. */
export function issuerPath(config: Pick<Config, 'issuer'>): string {
  return new URL(config.issuer).pathname.replace(/\/+$/, '');
}

/**
 * A cookie's name for this society: a society under a path shares its host (and so its cookies) with
 * others, so its cookies carry its id (`kosmo.session.sakura`): two societies' sessions, CSRF secrets
 * and logins in one browser never meet. A society at a host's root keeps the plain name.
 */
export function societyCookie(config: Pick<Config, 'issuer' | 'society'>, name: string): string {
  return issuerPath(config) ? `${name}.${config.society.id}` : name;
}
