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
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) => ({ CONFIG_DIR: dir, DATA_DIR: path.join(dir, 'data'), ...extra });
  const writeClients = (clients: unknown) => writeFileSync(path.join(dir, 'clients.json'), JSON.stringify(clients));
  const good = JSON.parse(readFileSync('config/clients.json', 'utf8'));

  function errorOf(fn: () => unknown): ConfigError {
    try { fn(); } catch (err) { if (err instanceof ConfigError) return err; throw err; }
    throw new Error('no ConfigError');
  }

  it('names the file, the client and the field of a bad client entry, in one line', () => {
    writeClients([...good, { client_id: 'broken-portal', client_secret: 'a-long-enough-secret-value', redirect_uris: ['not a url'] }]);
    const err = errorOf(() => loadConfig(env()));
    expect(err.message).toContain(path.join(dir, 'clients.json'));
    expect(err.message).toContain('"broken-portal"');
    expect(err.message).toContain('redirect_uris.0');
    expect(err.message).not.toContain('\n');
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

  it('starts in production once everything is set', () => {
    const jwks = path.join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k1' }] }));
    const config = loadConfig(env({
      NODE_ENV: 'production', ISSUER: 'https://idp.example.jp', COOKIE_KEYS: 'k'.repeat(40), SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
      JWKS_FILE: jwks, DATABASE_URL: 'postgres://u:p@db/kosmo', SMTP_URL: 'smtp://mail:25',
    }));
    expect(config.production).toBe(true);
    expect(config.demoPortal.enabled).toBe(false);
  });

  it('stops `npm start` with one line and no stack trace', async () => {
    writeClients([{ client_id: 'bad', public: true, client_secret: 'should-not-be-here-0000', redirect_uris: ['https://x.example.jp/cb'] }]);
    const result = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), ['src/main.ts'], { env: { ...process.env, ...env(), NODE_OPTIONS: '' } }).catch((e) => e as { code: number; stderr: string });
    writeClients(good);
    expect((result as { code: number }).code).toBe(78);
    const lines = (result as { stderr: string }).stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kosmo-idp: configuration error: .*clients\.json: client "bad": field "public"/);
  });
});
