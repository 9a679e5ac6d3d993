import { describe, it, expect, beforeAll, afterAll, afterEach } from '@jest/globals';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { isSpecialUseAddress, portalFetch, portalHostsOnPrivateAddresses } from '../../src/oidc/outbound.js';

/** Where logout tokens may go: the portals' back channels and the private hosts a setting allows. */
describe('back-channel logout configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kosmo-backchannel-'));
    cpSync('config', dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'societies', 'sakura', 'jwks.json'),
      JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'sakura-1' }] }),
    );
    writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k1' }] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const clientsFile = () => path.join(dir, 'societies', 'kosmo', 'clients.json');
  const good = readFileSync('config/societies/kosmo/clients.json', 'utf8');
  afterEach(() => writeFileSync(clientsFile(), good));

  const env = (extra: Record<string, string> = {}) => ({ CONFIG_DIR: dir, DATA_DIR: path.join(dir, 'data'), ...extra });
  const production = (extra: Record<string, string> = {}) =>
    env({
      NODE_ENV: 'production',
      ISSUER: 'https://idp.example.jp',
      COOKIE_KEYS: 'k'.repeat(40),
      SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
      JWKS_FILE: path.join(dir, 'jwks.json'),
      DATABASE_URL: 'postgres://u:p@db/kosmo',
      MIGRATION_DATABASE_URL: 'postgres://owner:p@db/kosmo',
      SMTP_URL: 'smtp://mail:25',
      ...extra,
    });

  it("reads each portal's backchannel_logout_uri and backchannel_logout_session_required", () => {
    const config = loadConfig(env({ DEMO_PORTAL_PORT: '3001' }));
    expect(config.clients[0]).toMatchObject({ backchannel_logout_uri: 'http://localhost:3001/backchannel-logout', backchannel_logout_session_required: true });
    expect(config.societies.find((s) => s.id === 'sakura')!.clients[0]).toMatchObject({ backchannel_logout_uri: 'http://localhost:3002/backchannel-logout' });
  });

  it('names the field of a back-channel URI that is not a URL', () => {
    writeFileSync(clientsFile(), JSON.stringify([{ ...JSON.parse(good)[0], backchannel_logout_uri: 'not a url' }]));
    expect(() => loadConfig(env())).toThrow(ConfigError);
    expect(() => loadConfig(env())).toThrow(/client "kosmo-demo-portal": field "backchannel_logout_uri"/);
  });

  it("outside production allows the portals' back-channel hosts on private addresses, and the hosts the setting names", () => {
    expect([...portalHostsOnPrivateAddresses(loadConfig(env()))]).toEqual(['localhost']);
    expect([...portalHostsOnPrivateAddresses(loadConfig(env({ PORTAL_PRIVATE_HOSTS: 'Portal.Internal, 10.0.0.5' })))]).toEqual([
      'portal.internal',
      '10.0.0.5',
      'localhost',
    ]);
  });

  it('in production allows only the hosts the setting names', () => {
    expect([...portalHostsOnPrivateAddresses(loadConfig(production()))]).toEqual([]);
    expect([...portalHostsOnPrivateAddresses(loadConfig(production({ PORTAL_PRIVATE_HOSTS: 'portal.internal' })))]).toEqual(['portal.internal']);
  });
});

describe("the provider's outgoing requests (portalFetch)", () => {
  const realFetch = globalThis.fetch;
  const calls: { url: string; options: Record<string, unknown> }[] = [];
  beforeAll(() => {
    globalThis.fetch = (async (url: string, options: Record<string, unknown>) => {
      calls.push({ url: String(url), options });
      return new Response(null, { status: 200 });
    }) as typeof fetch;
  });
  afterAll(() => {
    globalThis.fetch = realFetch;
  });
  afterEach(() => {
    calls.splice(0);
  });
  const dns: Record<string, string[]> = { 'portal.example.jp': ['203.0.114.10'], 'sneaky.example.jp': ['10.1.2.3'], 'portal.internal': ['192.168.1.9'] };
  const lookup = async (host: string) => dns[host] ?? [];
  const checking = { dispatcher: 'the provider’s checking dispatcher' };

  it('posts to a public host with the provider’s own address check in place', async () => {
    await portalFetch([], lookup)('https://portal.example.jp/bcl', { method: 'POST', ...checking } as RequestInit);
    expect(calls[0]!.options.dispatcher).toBe(checking.dispatcher);
  });

  it('refuses a host on a private, loopback or link-local address that is not allowed', async () => {
    const send = portalFetch([], lookup);
    await expect(send('https://sneaky.example.jp/bcl', { method: 'POST' })).rejects.toThrow(/special-use IP address/);
    await expect(send('http://127.0.0.1:3001/bcl', { method: 'POST' })).rejects.toThrow(/special-use IP address/);
    await expect(send('http://[::1]:3001/bcl', { method: 'POST' })).rejects.toThrow(/special-use IP address/);
    await expect(send('http://169.254.169.254/latest', { method: 'POST' })).rejects.toThrow(/special-use IP address/);
    expect(calls).toHaveLength(0);
  });

  it('posts to an allowed private host without the address check', async () => {
    await portalFetch(['portal.internal'], lookup)('http://portal.internal/bcl', { method: 'POST', ...checking } as RequestInit);
    expect(calls[0]!.url).toBe('http://portal.internal/bcl');
    expect(calls[0]!.options).not.toHaveProperty('dispatcher');
  });

  it('knows the special-use addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fc00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      expect({ address, special: isSpecialUseAddress(address) }).toEqual({ address, special: true });
    for (const address of ['93.184.216.34', '2606:4700::1111', '::ffff:93.184.216.34'])
      expect({ address, special: isSpecialUseAddress(address) }).toEqual({ address, special: false });
  });
});
