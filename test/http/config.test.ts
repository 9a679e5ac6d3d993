import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/index.js';

describe('configuration read at start', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kosmo-config-'));
    cpSync('config', dir, { recursive: true });
    // In production each society signs with keys the operator holds: JWKS_FILE is the default
    // society's (the tests below give it), the others bring their own.
    writeFileSync(
      path.join(dir, 'societies', 'sakura', 'jwks.json'),
      JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'sakura-1' }] }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) => ({ CONFIG_DIR: dir, DATA_DIR: path.join(dir, 'data'), ...extra });
  /** The default society's files. */
  const clientsFile = () => path.join(dir, 'societies', 'kosmo', 'clients.json');
  const societyFile = () => path.join(dir, 'societies', 'kosmo', 'society.json');
  const writeClients = (clients: unknown) => writeFileSync(clientsFile(), JSON.stringify(clients));
  const good = JSON.parse(readFileSync('config/societies/kosmo/clients.json', 'utf8'));

  function errorOf(fn: () => unknown): ConfigError {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('no ConfigError');
  }

  it('names the file, the client and the field of a bad client entry, in one line', () => {
    writeClients([...good, { client_id: 'broken-portal', client_secret: 'a-long-enough-secret-value', redirect_uris: ['not a url'] }]);
    const err = errorOf(() => loadConfig(env()));
    expect(err.message).toContain(clientsFile());
    expect(err.message).toContain('"broken-portal"');
    expect(err.message).toContain('redirect_uris.0');
    expect(err.message).not.toContain('\n');
  });

  it.each([
    [
      'a misspelt field',
      {
        client_id: 'typo-portal',
        client_secret: 'a-long-enough-secret-value',
        redirect_uri: ['https://p.example.jp/cb'],
        redirect_uris: ['https://p.example.jp/cb'],
      },
      'typo-portal',
      'redirect_uri',
    ],
    [
      'a secret that is too short',
      { client_id: 'short-secret', client_secret: 'short', redirect_uris: ['https://p.example.jp/cb'] },
      'short-secret',
      'client_secret',
    ],
    ['no redirect_uris', { client_id: 'no-redirect', client_secret: 'a-long-enough-secret-value' }, 'no-redirect', 'redirect_uris'],
    [
      'an empty redirect_uris',
      { client_id: 'empty-redirect', client_secret: 'a-long-enough-secret-value', redirect_uris: [] },
      'empty-redirect',
      'redirect_uris',
    ],
    [
      'a post-logout URI that is not a list',
      {
        client_id: 'bad-logout',
        client_secret: 'a-long-enough-secret-value',
        redirect_uris: ['https://p.example.jp/cb'],
        post_logout_redirect_uris: 'https://p.example.jp/',
      },
      'bad-logout',
      'post_logout_redirect_uris',
    ],
    [
      'a bad initiate_login_uri',
      { client_id: 'bad-initiate', client_secret: 'a-long-enough-secret-value', redirect_uris: ['https://p.example.jp/cb'], initiate_login_uri: 'login' },
      'bad-initiate',
      'initiate_login_uri',
    ],
    [
      'a secret from an unset variable',
      { client_id: 'env-secret', client_secret_env: 'KOSMO_TEST_UNSET_SECRET', redirect_uris: ['https://p.example.jp/cb'] },
      'env-secret',
      'client_secret_env',
    ],
    ['no client_id (named by position)', { client_secret: 'a-long-enough-secret-value', redirect_uris: ['https://p.example.jp/cb'] }, '#2', 'client_id'],
  ])('names the file, the client and the field for %s', (_what, entry, clientId, field) => {
    writeClients([...good, entry]);
    const err = errorOf(() => loadConfig(env()));
    writeClients(good);
    expect(err.message).toMatch(new RegExp(`^${clientsFile().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: client "${clientId}": field "${field}": \\S`));
    expect(err.message).not.toContain('\n');
  });

  it('names the file and the field of a bad society policy, and the file of broken JSON', () => {
    const society = JSON.parse(readFileSync('config/societies/kosmo/society.json', 'utf8'));
    writeFileSync(societyFile(), JSON.stringify({ ...society, lockout: { ...society.lockout, maxFailures: 0 } }));
    const policy = errorOf(() => loadConfig(env()));
    cpSync('config/societies/kosmo/society.json', societyFile());
    expect(policy.message).toMatch(/societies\/kosmo\/society\.json: field "lockout\.maxFailures": /);
    writeFileSync(clientsFile(), '[{');
    const broken = errorOf(() => loadConfig(env()));
    writeClients(good);
    expect(broken.message).toContain(`${clientsFile()}: not valid JSON`);
    expect(broken.message).not.toContain('\n');
  });

  it('refuses a confidential client without a secret and a duplicate client id', () => {
    writeClients([{ client_id: 'no-secret', redirect_uris: ['https://portal.example.jp/cb'] }]);
    expect(errorOf(() => loadConfig(env())).message).toMatch(/"no-secret".*"client_secret"/);
    writeClients([...good, good[0]]);
    expect(errorOf(() => loadConfig(env())).message).toMatch(/duplicate client id/);
    writeClients(good);
  });

  it('refuses production on development defaults, saying what to set', () => {
    const err = errorOf(() => loadConfig(env({ NODE_ENV: 'production', ISSUER: 'https://idp.example.jp' })));
    expect(err.message).toMatch(/^NODE_ENV=production refuses development defaults; set /);
    for (const name of ['COOKIE_KEYS', 'SECRETS_KEY', 'JWKS_FILE', 'DATABASE_URL', 'SMTP_URL']) expect(err.message).toContain(name);
    expect(err.message).not.toContain('\n');
  });

  it('takes the database as two roles: DATABASE_URL (the application) only with MIGRATION_DATABASE_URL (the owner), and the other way round', () => {
    expect(errorOf(() => loadConfig(env({ DATABASE_URL: 'postgres://app:p@db/kosmo' }))).message).toBe(
      'environment: MIGRATION_DATABASE_URL: required with DATABASE_URL (the role that owns the tables and runs the migrations)',
    );
    expect(errorOf(() => loadConfig(env({ MIGRATION_DATABASE_URL: 'postgres://owner:p@db/kosmo' }))).message).toBe(
      'environment: DATABASE_URL: required with MIGRATION_DATABASE_URL (the application role, which owns nothing)',
    );
    const both = loadConfig(env({ DATABASE_URL: 'postgres://app:p@db/kosmo', MIGRATION_DATABASE_URL: 'postgres://owner:p@db/kosmo' }));
    expect([both.databaseUrl, both.migrationDatabaseUrl]).toEqual(['postgres://app:p@db/kosmo', 'postgres://owner:p@db/kosmo']);
  });

  it('takes the pool from DATABASE_POOL_SIZE and DATABASE_POOL_IDLE_SECONDS, and refuses a bad value naming its variable', () => {
    expect(loadConfig(env()).databasePool).toEqual({ size: 10, idleSeconds: 300 });
    expect(loadConfig(env({ DATABASE_POOL_SIZE: '3', DATABASE_POOL_IDLE_SECONDS: '60' })).databasePool).toEqual({ size: 3, idleSeconds: 60 });
    for (const [name, value] of [
      ['DATABASE_POOL_SIZE', '0'],
      ['DATABASE_POOL_SIZE', '101'],
      ['DATABASE_POOL_SIZE', '2.5'],
      ['DATABASE_POOL_SIZE', 'ten'],
      ['DATABASE_POOL_IDLE_SECONDS', '0'],
      ['DATABASE_POOL_IDLE_SECONDS', '86400'],
      ['DATABASE_POOL_IDLE_SECONDS', '1e9'],
    ]) {
      const err = errorOf(() => loadConfig(env({ [name]: value })));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(new RegExp(`^environment: ${name}: `));
    }
  });

  it('refuses production over http, or with short cookie keys, in one line each', () => {
    const jwks = path.join(dir, 'jwks-check.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k1' }] }));
    const complete = {
      NODE_ENV: 'production',
      ISSUER: 'https://idp.example.jp',
      COOKIE_KEYS: 'k'.repeat(40),
      SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
      JWKS_FILE: jwks,
      DATABASE_URL: 'postgres://u:p@db/kosmo',
      MIGRATION_DATABASE_URL: 'postgres://owner:p@db/kosmo',
      SMTP_URL: 'smtp://mail:25',
    };
    expect(errorOf(() => loadConfig(env({ ...complete, ISSUER: 'http://idp.example.jp' }))).message).toBe(
      'environment: ISSUER: must be https:// in production',
    );
    expect(errorOf(() => loadConfig(env({ ...complete, COOKIE_KEYS: 'too-short' }))).message).toBe(
      'environment: COOKIE_KEYS: each key needs at least 32 characters',
    );
    const onlyCookies = errorOf(() => loadConfig(env({ ...complete, COOKIE_KEYS: '' })));
    expect(onlyCookies.message).toMatch(/^NODE_ENV=production refuses development defaults; set COOKIE_KEYS \(/);
    expect(onlyCookies.message).not.toMatch(/SECRETS_KEY|JWKS_FILE|SMTP_URL|DATABASE_URL/);
  });

  it('derives the passkey relying party from ISSUER, and refuses origins outside the RP ID', () => {
    writeClients(good);
    const derived = loadConfig(env({ ISSUER: 'http://localhost:4100/' })).webauthn;
    expect(derived).toEqual({ rpId: 'localhost', rpName: 'KOSMO Web', origins: ['http://localhost:4100'] });
    const shared = loadConfig(
      env({ ISSUER: 'https://login.kosmo-web.jp', WEBAUTHN_RP_ID: 'kosmo-web.jp', WEBAUTHN_ORIGINS: 'https://login.kosmo-web.jp, https://www.kosmo-web.jp' }),
    ).webauthn;
    expect(shared.origins).toEqual(['https://login.kosmo-web.jp', 'https://www.kosmo-web.jp']);
    expect(errorOf(() => loadConfig(env({ ISSUER: 'https://login.kosmo-web.jp', WEBAUTHN_RP_ID: 'example.jp' }))).message).toBe(
      'environment: WEBAUTHN_RP_ID: "example.jp" is not the host of https://login.kosmo-web.jp nor a domain it belongs to',
    );
    expect(errorOf(() => loadConfig(env({ WEBAUTHN_ORIGINS: 'http://localhost:3000/login' }))).message).toMatch(
      /^environment: WEBAUTHN_ORIGINS: .* without a path$/,
    );
    expect(errorOf(() => loadConfig(env({ WEBAUTHN_RP_ID: 'Kosmo Web' }))).message).toMatch(/^environment: WEBAUTHN_RP_ID: /);
  });

  it('reads SECRETS_KEY_PREVIOUS as comma-separated keys, and refuses a malformed one without printing it', () => {
    const current = Buffer.alloc(32, 1).toString('base64');
    const older = [Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    const config = loadConfig(
      env({ SECRETS_KEY: current, SECRETS_KEY_PREVIOUS: ` ${older[0]!.toString('base64')}, ${older[1]!.toString('base64')},${current}` }),
    );
    // The current key is not a previous one; the order is kept.
    expect(config.previousSecretsKeys).toEqual(older);
    expect(loadConfig(env({ SECRETS_KEY: current })).previousSecretsKeys).toEqual([]);
    const truncated = older[1]!.toString('base64').slice(0, 40);
    const twoKeys = errorOf(() => loadConfig(env({ SECRETS_KEY: current, SECRETS_KEY_PREVIOUS: `${older[0]!.toString('base64')},${truncated}` })));
    expect(twoKeys.message).toBe('environment: SECRETS_KEY_PREVIOUS: key 2 of 2 must be 32 bytes, base64-encoded (comma-separated keys)');
    expect(twoKeys.message).not.toContain(truncated);
    for (const bad of ['not-a-key', 'a'.repeat(64), `${older[0]!.toString('base64')}!`]) {
      expect(errorOf(() => loadConfig(env({ SECRETS_KEY: current, SECRETS_KEY_PREVIOUS: bad }))).message).toBe(
        'environment: SECRETS_KEY_PREVIOUS: the key must be 32 bytes, base64-encoded (comma-separated keys)',
      );
    }
  });

  it("derives the demo portal's redirect URIs from DEMO_PORTAL_PORT (${DEMO_PORTAL_URL} in clients.json)", () => {
    writeClients(good);
    const config = loadConfig(env({ DEMO_PORTAL_PORT: '3456' }));
    const demo = config.clients.find((c) => c.client_id === 'kosmo-demo-portal')!;
    expect(config.demoPortal.url).toBe('http://localhost:3456');
    expect(demo.redirect_uris).toEqual(['http://localhost:3456/callback']);
    expect(demo.post_logout_redirect_uris).toEqual(['http://localhost:3456/']);
    expect(demo.initiate_login_uri).toBe('http://localhost:3456/login');
    expect(loadConfig(env()).clients.find((c) => c.client_id === 'kosmo-demo-portal')!.redirect_uris).toEqual(['http://localhost:3001/callback']);
    writeClients([{ ...good[0], redirect_uris: ['${PORTAL_HOST}/callback'] }]);
    const err = errorOf(() => loadConfig(env()));
    writeClients(good);
    expect(err.message).toContain('client "kosmo-demo-portal": field "redirect_uris.0": unknown placeholder ${PORTAL_HOST}');
  });

  it('starts in production once everything is set', () => {
    const jwks = path.join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k1' }] }));
    const config = loadConfig(
      env({
        NODE_ENV: 'production',
        ISSUER: 'https://idp.example.jp',
        COOKIE_KEYS: 'k'.repeat(40),
        SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
        JWKS_FILE: jwks,
        DATABASE_URL: 'postgres://u:p@db/kosmo',
        MIGRATION_DATABASE_URL: 'postgres://owner:p@db/kosmo',
        SMTP_URL: 'smtp://mail:25',
      }),
    );
    expect(config.production).toBe(true);
    expect(config.demoPortal.enabled).toBe(false);
  });

  it('stops `npm start` with one line and no stack trace', async () => {
    writeClients([{ client_id: 'bad', public: true, client_secret: 'should-not-be-here-0000', redirect_uris: ['https://x.example.jp/cb'] }]);
    const result = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), ['src/main.ts'], {
      env: { ...process.env, ...env(), NODE_OPTIONS: '' },
    }).catch((e) => e as { code: number; stderr: string });
    writeClients(good);
    expect((result as { code: number }).code).toBe(78);
    const lines = (result as { stderr: string }).stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^kosmo-idp: configuration error: .*clients\.json: client "bad": field "client_secret": must not be set with "token_endpoint_auth_method": "none"/,
    );
  });
});
