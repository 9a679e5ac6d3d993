import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestIdp, freePort, isPortal, BrowserClient, completeTotp } from '../support/idp.js';
import { createTestDatabase } from '../support/database.js';

/**
 * Issue 7 ("Also"): the production layout, as the Dockerfile builds it. `tsc` into dist/, production
 * dependencies only (`npm ci --omit=dev`: no mailparser, no tsx-only code), NODE_ENV=production with
 * every production setting, a real PostgreSQL by DATABASE_URL, behind a TLS-terminating proxy
 * (X-Forwarded-Proto). A member logs in through it and the portal redeems the code.
 */
const REPO = process.cwd();
const CLIENT = { id: 'prod-portal', secret: 'prod-portal-secret-0123456789abcdef', redirect: 'http://localhost:3999/callback' };

/** The browser of a member behind the proxy: https URLs of the issuer reach the server over http. */
class ProxiedBrowser extends BrowserClient {
  constructor(
    private readonly issuer: string,
    private readonly local: string,
  ) {
    super({ 'x-forwarded-proto': 'https' });
  }
  override request(url: string, init: Parameters<BrowserClient['request']>[1] = {}): Promise<Response> {
    return super.request(url.startsWith(this.issuer) ? this.local + url.slice(this.issuer.length) : url, init);
  }
}

describe('the production layout', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: ChildProcess | undefined;
  let output = '';
  let port: number;
  let issuer: string;
  let local: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-prod-'));
    // The image's stages: build (tsc), prod-deps (npm ci --omit=dev), runtime (dist + views, locales, static, config).
    execFileSync(path.join(REPO, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json', '--outDir', path.join(dir, 'dist')], { cwd: REPO, stdio: 'pipe' });
    cpSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
    cpSync(path.join(REPO, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    execFileSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'pipe' });
    for (const entry of ['views', 'locales', 'static', 'config']) cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
    writeFileSync(
      path.join(dir, 'config', 'societies', 'kosmo', 'clients.json'),
      JSON.stringify([
        {
          client_id: CLIENT.id,
          client_name: 'Production portal',
          client_secret: CLIENT.secret,
          redirect_uris: [CLIENT.redirect],
          post_logout_redirect_uris: ['http://localhost:3999/'],
        },
      ]),
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(
      path.join(dir, 'jwks.json'),
      JSON.stringify({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'prod-1', use: 'sig', alg: 'RS256' }] }),
    );
    // JWKS_FILE signs for the default society; every other society brings its own keys in production.
    // sakura's portal is a FAPI 2.0 portal (ES256 ID tokens, its keys at an https jwks_uri).
    const sakuraKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const sakuraEcKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(
      path.join(dir, 'config', 'societies', 'sakura', 'jwks.json'),
      JSON.stringify({
        keys: [
          { ...sakuraKey.export({ format: 'jwk' }), kid: 'sakura-prod-1', use: 'sig', alg: 'RS256' },
          { ...sakuraEcKey.export({ format: 'jwk' }), kid: 'sakura-prod-2', use: 'sig', alg: 'ES256' },
        ],
      }),
    );
    writeFileSync(
      path.join(dir, 'config', 'societies', 'sakura', 'clients.json'),
      JSON.stringify([
        {
          client_id: 'sakura-portal',
          profile: 'fapi2',
          jwks_uri: 'https://www.sakura.portal.kosmo-web.jp/jwks',
          redirect_uris: ['https://www.sakura.portal.kosmo-web.jp/callback'],
        },
      ]),
    );

    db = await createTestDatabase();
    const seed = await startTestIdp({ databaseUrl: db.url });
    await seed.addMember({ userId: 'prod00001' }, { password: 'Prod-pass-001', onboarded: true });
    await seed.close();
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no development dependency (mailparser) installed', () => {
    expect(() =>
      execFileSync(path.join(REPO, 'node_modules/.bin/node'), ['-e', "import('mailparser').then(() => process.exit(0), () => process.exit(3))"], {
        cwd: dir,
        stdio: 'pipe',
      }),
    ).toThrow();
  });

  it('starts with NODE_ENV=production from dist/ and logs a member in through it', async () => {
    port = await freePort();
    // The public address the TLS proxy answers at; the repository's kosmo is under /kosmo of it.
    const root = `https://127.0.0.1:${port}`;
    issuer = `${root}/kosmo`;
    local = `http://127.0.0.1:${port}`;
    server = spawn(path.join(REPO, 'node_modules/.bin/node'), ['dist/src/main.js'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        MANAGEMENT_PORT: '0',
        HOST: '127.0.0.1',
        ISSUER: root,
        TRUST_PROXY: 'true',
        DATABASE_URL: db.url,
        MIGRATION_DATABASE_URL: db.ownerUrl,
        COOKIE_KEYS: randomBytes(24).toString('base64url'),
        SECRETS_KEY: Buffer.alloc(32, 7).toString('base64') /* the seeding test provider's: it sealed the member's TOTP secret */,
        JWKS_FILE: path.join(dir, 'jwks.json'),
        SMTP_URL: 'smtp://127.0.0.1:1',
        LOG_LEVEL: 'warn',
        BCRYPT_COST: '4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    server.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    for (let i = 0; i < 300 && !output.includes('kosmo-idp (OpenID Connect provider)'); i++) {
      if (server.exitCode !== null) throw new Error(`exited ${server.exitCode}:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output).toContain(`issuer:              ${root}/kosmo\n`);
    expect(output).toContain(`issuer:              ${root}/sakura\n`);
    expect(output).not.toContain('/dev/mailbox');
    expect((await fetch(`${local}/kosmo/dev/mailbox`, { headers: { 'x-forwarded-proto': 'https' } })).status).toBe(404);
    // Plain http that skipped the TLS proxy: one clear line, not a 500; health checks still answer.
    const plain = await fetch(`${local}/kosmo/dev/mailbox`);
    expect(plain.status).toBe(400);
    expect(await plain.text()).toContain('https only');
    expect((await fetch(`${local}/healthz`)).status).toBe(200);

    const verifier = randomBytes(32).toString('base64url');
    const auth = new URL(`${issuer}/auth`);
    auth.search = new URLSearchParams({
      client_id: CLIENT.id,
      response_type: 'code',
      scope: 'openid profile',
      redirect_uri: CLIENT.redirect,
      state: 'st',
      nonce: 'no',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const browser = new ProxiedBrowser(root, local);
    const page = await browser.go(auth.toString(), { stopAt: isPortal });
    expect(page.status).toBe(200);
    const after = await completeTotp(
      browser,
      await browser.submit(page, '/login', { user_id: 'prod00001', password: 'Prod-pass-001' }, { stopAt: isPortal }),
      'prod00001',
    );
    expect(isPortal(after.url)).toBe(true);
    const code = new URL(after.url).searchParams.get('code')!;
    const token = await fetch(`${local}/kosmo/token`, {
      method: 'POST',
      headers: {
        'x-forwarded-proto': 'https',
        authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirect, code_verifier: verifier }).toString(),
    });
    expect(token.status).toBe(200);
    const tokens = (await token.json()) as { id_token: string; access_token: string };
    const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: issuer, aud: CLIENT.id, preferred_username: 'prod00001' });
    mkdirSync(path.join(dir, 'done'), { recursive: true });
  }, 60_000);
});
