import { z } from 'zod';
import { SOCIETY_ID_PATTERN, SOCIETY_ID_RULE } from './societies.js';

/** Environment variables, read once at start. Everything else reads the Config object. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** The management listener (/metrics, /health/*), apart from the public port; 0 picks a free one. */
  MANAGEMENT_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  /** SIGTERM: how long /health/ready answers 503 before the listener stops taking connections (the load balancer's notice). */
  SHUTDOWN_DELAY_SECONDS: z.coerce.number().min(0).max(300).default(5),
  /** SIGTERM: how long requests in flight may take to finish before their connections are closed. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(0).max(300).default(20),
  ISSUER: z.url().optional(),
  /** The application's role: owns nothing, cannot bypass row-level security (README, "Database roles"). */
  DATABASE_URL: z.string().optional(),
  /** The role that owns the tables and runs the migrations; set together with DATABASE_URL. */
  MIGRATION_DATABASE_URL: z.string().optional(),
  /** Connections each process keeps to PostgreSQL at most: processes × this must stay under the server's max_connections. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * How long an unused connection stays open. A request that finds none pays for a new one (about
   * 7 ms on one machine, more over TLS to a managed database): five minutes carry a quiet provider
   * from one login to the next.
   */
  DATABASE_POOL_IDLE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  DATA_DIR: z.string().default('.data'),
  /** The embedded PostgreSQL's port (development, when DATABASE_URL is not set). */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  CONFIG_DIR: z.string().default('config'),
  /**
   * The default society: served today, and the one whose policy, clients and terms Config carries.
   * With config/societies/, one of its folders (the first by id when unset); with the single-society
   * config/union.json, that society's id (`kosmo` when unset).
   */
  SOCIETY_ID: z.string().regex(SOCIETY_ID_PATTERN, `a society id: ${SOCIETY_ID_RULE}`).optional(),
  COOKIE_KEYS: z.string().optional(),
  SECRETS_KEY: z.string().optional(),
  /** Keys SECRETS_KEY replaced, comma-separated: they still open what they sealed (key rotation). */
  SECRETS_KEY_PREVIOUS: z.string().optional(),
  JWKS_FILE: z.string().optional(),
  /** `database`: in production too, signing keys kept in the database (encrypted) and rotated by `keys rotate`. */
  SIGNING_KEYS: z.enum(['database']).optional(),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  /**
   * Portal hosts on loopback or private addresses the provider may call (a portal's jwks_uri and
   * back-channel logout URI), comma-separated host names. Outside production every
   * configured portal host is allowed; in production only these (request forgery).
   */
  PORTAL_PRIVATE_HOSTS: z.string().optional(),
  SMTP_URL: z.string().optional(),
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'a lowercase host name, e.g. kosmo-web.jp')
    .optional(),
  WEBAUTHN_ORIGINS: z.string().optional(),
  DEMO_PORTAL: z.enum(['true', 'false']).optional(),
  /** OpenTelemetry: the collector's OTLP/HTTP base URL; unset (or empty), no tracing and no SDK loaded. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess((v) => (v === '' ? undefined : v), z.url().optional()),
  OTEL_SERVICE_NAME: z.string().min(1).default('kosmo-idp'),
  DEMO_PORTAL_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
});

export type Env = z.infer<typeof envSchema>;
