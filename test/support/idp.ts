import { registerClient } from '../../src/config/clients.js';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createIdp, type Idp, type IdpOptions } from '../../src/idp.js';
import { openOrm } from '../../src/db/orm.js';
import { insertMembers, memberInputSchema, type MemberInput } from '../../src/members/provision.js';
import { storeNewPassword } from '../../src/members/new-password.js';
import type { SecondFactorKind } from '../../src/members/credentials.js';
import { createTestDatabase, ownerUrlFor } from './database.js';
import { startSmtpCapture, type SmtpCapture } from './smtp-capture.js';
import { BrowserClient, type Page } from './browser-client.js';
import { enrolTotpDevice, registerTotpApp, totpApp, totpFields, TotpApp, TotpDevices } from './factors.js';

/** An onboarded fixture member's authenticator devices: enough for several logins within 30 seconds. */
const FIXTURE_DEVICES = ['会社用', '個人用', 'タブレット'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export const TEST_CLIENT = {
  id: 'test-portal',
  secret: 'test-portal-secret-0123456789',
  redirect: 'http://localhost:3999/callback',
  postLogout: 'http://localhost:3999/',
};

export interface TestIdp {
  url: string;
  idp: Idp;
  config: Config;
  databaseUrl: string;
  /**
   * Inserts a provisioned member (initial password in force) and returns its user ID. `onboarded`
   * members completed their first login (they owe no step, have logged in before) and have chosen `factor` (default the TOTP app; null: none). With the TOTP
   * app they have `totpDevices` (default three: 会社用, 個人用, タブレット; [] for none yet, as at a first login or after
   * 初期化), set up through the factor's own setup code; the devices' codes are then at
   * `totpApp(userId)`, and `loginThroughPortal` enters them. Other methods start with nothing set up.
   */
  addMember(
    input: Partial<MemberInput> & { userId: string },
    extra?: { password?: string; onboarded?: boolean; factor?: SecondFactorKind | null; totpDevices?: string[]; society?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export interface TestIdpOptions {
  /** Changes to the loaded Config (the union policy, TTLs …) before the provider is built. */
  configure?: (config: Config) => void;
  databaseUrl?: string;
  env?: Record<string, string>;
  /** The provider's logger (silent unless given). */
  log?: Logger;
  /** Options of createIdp (back-channel delivery policy and hook …). */
  idpOptions?: IdpOptions;
}

/** Starts a real provider on a fresh database and a free port, as `npm start` would. */
export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const db = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? db!.url;
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    MIGRATION_DATABASE_URL: ownerUrlFor(databaseUrl),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    COOKIE_KEYS: 'test-cookie-key-0123456789abcdefghijklmnop',
    SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
    DATA_DIR: '.data/test',
    ...options.env,
  });
  // The tests serve the default society at the root of their port, as they were written; the
  // repository's demo puts it under /kosmo, and test/http/societies.test.ts covers that path form.
  const root = (options.env?.ISSUER ?? `http://localhost:${port}`).replace(/\/+$/, '');
  config.society.issuer = root;
  config.issuer = root;
  config.clients.push(
    registerClient({
      client_id: TEST_CLIENT.id,
      client_secret: TEST_CLIENT.secret,
      client_name: 'Test portal',
      redirect_uris: [TEST_CLIENT.redirect],
      post_logout_redirect_uris: [TEST_CLIENT.postLogout],
      initiate_login_uri: 'http://localhost:3999/login',
      scope: 'openid offline_access profile email',
    }),
  );
  options.configure?.(config);
  const orm = await openOrm(databaseUrl, 5);
  const idp = await createIdp(config, options.log ?? createLogger('silent'), orm, options.idpOptions);
  const { url } = await idp.listen(port, '127.0.0.1');
  return {
    url,
    idp,
    config,
    databaseUrl,
    async addMember(input, extra = {}) {
      const valid = memberInputSchema.parse({
        symbol: '12',
        number: String(1000000 + Math.floor(Math.random() * 8999999)),
        birthdate: '1980-12-01',
        name: '試験 太郎',
        ...input,
      });
      const hash = extra.password ? await idp.hasher.hash(extra.password) : undefined;
      // Another society's member (its own rows, policy and terms): TOTP devices only in the default one.
      const society = extra.society ? await idp.forSociety(extra.society) : undefined;
      if (society && extra.onboarded && (extra.factor ?? 'totp') === 'totp')
        throw new Error("addMember: another society's member has no TOTP fixture; give factor");
      const sql = society?.sql ?? idp.sql;
      const terms = society?.config.terms ?? config.terms;
      await sql.transaction(async (tx, em) => {
        await insertMembers(tx, [valid]);
        const { id } = (await tx.one<{ id: string }>('select id from member where user_id = $1', [valid.userId]))!;
        if (hash) await storeNewPassword({ em, sql: tx }, id, hash);
        await em.flush();
        if (extra.onboarded) {
          await tx.run(
            `update member set pending_steps = '{}', temporary_id = false, email_verified = email is not null, terms_version = $2, terms_accepted_at = now(), chosen_factor = $3, last_login_at = now() where id = $1`,
            [id, terms.version, extra.factor === undefined ? 'totp' : extra.factor],
          );
        }
      });
      if (extra.onboarded && (extra.factor ?? 'totp') === 'totp') {
        const { id } = (await idp.sql.one<{ id: string }>('select id from member where user_id = $1', [valid.userId]))!;
        const devices: TotpApp[] = [];
        for (const label of extra.totpDevices ?? FIXTURE_DEVICES) {
          const device = await enrolTotpDevice(idp, id, label);
          devices.push(new TotpApp(device.secret, device.step, device.credentialId, label));
        }
        registerTotpApp(valid.userId, new TotpDevices(devices));
      }
      return valid.userId;
    },
    async close() {
      await idp.close();
      await orm.close();
      await db?.drop();
    },
  };
}

/** A provider whose mail goes to a real SMTP server that catches it (`smtp`). */
export interface MailedTestIdp extends TestIdp {
  smtp: SmtpCapture;
}

/** `startTestIdp` with its mail caught by a real SMTP server; `close()` closes both. */
export async function startMailedTestIdp(options: TestIdpOptions = {}): Promise<MailedTestIdp> {
  const smtp = await startSmtpCapture();
  try {
    const t = await startTestIdp({ ...options, env: { ...options.env, SMTP_URL: smtp.url } });
    return {
      ...t,
      smtp,
      async close() {
        await t.close();
        await smtp.close();
      },
    };
  } catch (err) {
    await smtp.close();
    throw err;
  }
}

/** The portal side of a test: a real OpenID Connect client (openid-client) for TEST_CLIENT. */
export async function testRelyingParty(issuer: string) {
  const configuration = await oidc.discovery(new URL(issuer), TEST_CLIENT.id, undefined, oidc.ClientSecretBasic(TEST_CLIENT.secret), {
    execute: [oidc.allowInsecureRequests],
  });
  return {
    configuration,
    async authorizationRequest(extra: Record<string, string> = {}) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(configuration, {
        redirect_uri: TEST_CLIENT.redirect,
        scope: 'openid profile email offline_access',
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...extra,
      });
      return { url: url.toString(), verifier, state, nonce };
    },
    async exchange(callbackUrl: string, request: { verifier: string; state: string; nonce: string }) {
      return oidc.authorizationCodeGrant(configuration, new URL(callbackUrl), {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
    },
  };
}

export const isPortal = (u: string) => u.startsWith('http://localhost:3999/');

/**
 * A portal's authorization request (with `extra` parameters) -> the login page -> the user ID and
 * password: the page the login goes on to (a step, the second factor), or the portal's callback URL.
 */
export async function passwordAtPortal(idpUrl: string, userId: string, password: string, extra: Record<string, string> = {}, browser = new BrowserClient()) {
  const rp = await testRelyingParty(idpUrl);
  const request = await rp.authorizationRequest(extra);
  const loginPage = await browser.go(request.url, { stopAt: isPortal });
  const page = await browser.submit(loginPage, '/login', { user_id: userId, password }, { stopAt: isPortal });
  return { browser, rp, request, loginPage, page };
}

/**
 * Authorize -> login page -> password -> (the code of the member's TOTP app, for a member set up
 * by `addMember(…, { onboarded: true })`) -> back at the portal's callback URL.
 */
export async function loginThroughPortal(idpUrl: string, browser: BrowserClient, userId: string, password: string, extra: Record<string, string> = {}) {
  const { rp, request, loginPage, page: afterPassword } = await passwordAtPortal(idpUrl, userId, password, extra, browser);
  const after = await completeTotp(browser, afterPassword, userId);
  return { rp, request, loginPage, after, afterPassword };
}

/** On the ワンタイムパスワードの入力 page, enters the next code of the member's app; other pages pass through. */
export async function completeTotp(browser: BrowserClient, page: Page, userId: string): Promise<Page> {
  const app = totpApp(userId);
  if (!app || !/\/factor$/.test(new URL(page.url).pathname) || !page.html.includes('name="code"')) return page;
  return browser.submit(page, '/factor', await totpFields(app), { stopAt: isPortal });
}

export function randomUserId(prefix = 'm'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export { BrowserClient, type Page, totpApp, totpFields };
