import { describe, it, expect, beforeAll, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadClients } from '../../src/config/clients.js';
import { Problems } from '../../src/config/problems.js';

/**
 * clients.json speaks the standard registration metadata (RFC 7591, OpenID Connect Registration,
 * RFC 9126, RFC 9449, Back-Channel Logout 1.0); unknown or contradictory metadata stops the start
 * with one line naming the portal and the field.
 */
describe("a portal's registration metadata", () => {
  let dir: string;
  let publicJwk: Record<string, unknown>;
  let privateJwk: Record<string, unknown>;
  beforeAll(() => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'portal-1', alg: 'ES256', use: 'sig' };
    privateJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'portal-1' };
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kosmo-clients-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Stands for the portal's public key (made in beforeAll). */
  const KEY = 'the portal key';
  const base = { client_id: 'portal', redirect_uris: ['https://portal.example.jp/callback'] };
  function load(clients: unknown[], env: NodeJS.ProcessEnv = {}) {
    const file = path.join(dir, 'clients.json');
    writeFileSync(file, JSON.stringify(clients));
    const problems = new Problems();
    const loaded = loadClients(file, env, {}, problems);
    return { loaded, lines: problems.lines.map((l) => l.slice(file.length + 2)) };
  }

  it('a FAPI 2.0 portal: one line of profile and its key; PAR, private_key_jwt, DPoP and ES256 follow', () => {
    const { loaded, lines } = load([{ ...base, profile: 'fapi2', jwks: { keys: [publicJwk] } }]);
    expect(lines).toEqual([]);
    expect(loaded[0]).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
      id_token_signed_response_alg: 'ES256',
      jwks: { keys: [publicJwk] },
    });
  });

  it('takes every standard name it knows, spelled out', () => {
    const { loaded, lines } = load([
      {
        ...base,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://portal.example.jp/jwks',
        require_pushed_authorization_requests: true,
        dpop_bound_access_tokens: true,
        id_token_signed_response_alg: 'ES256',
        backchannel_logout_uri: 'https://portal.example.jp/backchannel-logout',
        backchannel_logout_session_required: true,
      },
      { ...base, client_id: 'spa', token_endpoint_auth_method: 'none', redirect_uris: ['https://spa.example.jp/cb'] },
      { ...base, client_id: 'classic', client_secret: 'a-secret-of-sixteen+', id_token_signed_response_alg: 'RS256' },
    ]);
    expect(lines).toEqual([]);
    expect(loaded.map((c) => [c.client_id, c.token_endpoint_auth_method, c.require_pushed_authorization_requests, c.dpop_bound_access_tokens])).toEqual([
      ['portal', 'private_key_jwt', true, true],
      ['spa', 'none', false, false],
      ['classic', 'client_secret_basic', false, false],
    ]);
  });

  it.each([
    [
      'an unknown name',
      { ...base, client_secret: 'a-secret-of-sixteen+', token_endpoint_auth_methods: 'private_key_jwt' },
      'token_endpoint_auth_methods',
      /Unrecognized key/,
    ],
    [
      'an unknown method',
      { ...base, token_endpoint_auth_method: 'client_secret_post', client_secret: 'a-secret-of-sixteen+' },
      'token_endpoint_auth_method',
      /./,
    ],
    [
      'FAPI 2.0 with a client secret',
      { ...base, profile: 'fapi2', token_endpoint_auth_method: 'client_secret_basic', client_secret: 'a-secret-of-sixteen+' },
      'token_endpoint_auth_method',
      /private_key_jwt.*FAPI 2.0/,
    ],
    [
      'FAPI 2.0 without PAR',
      { ...base, profile: 'fapi2', jwks: KEY, require_pushed_authorization_requests: false },
      'require_pushed_authorization_requests',
      /must be true/,
    ],
    ['FAPI 2.0 without DPoP', { ...base, profile: 'fapi2', jwks: KEY, dpop_bound_access_tokens: false }, 'dpop_bound_access_tokens', /must be true/],
    [
      'FAPI 2.0 with RS256 ID tokens',
      { ...base, profile: 'fapi2', jwks: KEY, id_token_signed_response_alg: 'RS256' },
      'id_token_signed_response_alg',
      /must be "ES256"/,
    ],
    ['FAPI 2.0 as a public client', { ...base, profile: 'fapi2', jwks: KEY, public: true }, 'public', /confidential/],
    ['private_key_jwt without keys', { ...base, token_endpoint_auth_method: 'private_key_jwt' }, 'jwks', /required/],
    [
      'both jwks and jwks_uri',
      { ...base, token_endpoint_auth_method: 'private_key_jwt', jwks: KEY, jwks_uri: 'https://portal.example.jp/jwks' },
      'jwks_uri',
      /either/,
    ],
    [
      'keys without private_key_jwt',
      { ...base, client_secret: 'a-secret-of-sixteen+', jwks_uri: 'https://portal.example.jp/jwks' },
      'jwks_uri',
      /only used with/,
    ],
    [
      'a secret with private_key_jwt',
      { ...base, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://portal.example.jp/jwks', client_secret: 'a-secret-of-sixteen+' },
      'client_secret',
      /must not be set/,
    ],
    [
      'public and a method that is not none',
      { ...base, public: true, token_endpoint_auth_method: 'client_secret_basic', client_secret: 'a-secret-of-sixteen+' },
      'public',
      /contradicts/,
    ],
    [
      'a session-required flag without a URI',
      { ...base, client_secret: 'a-secret-of-sixteen+', backchannel_logout_session_required: true },
      'backchannel_logout_session_required',
      /needs "backchannel_logout_uri"/,
    ],
    ['an unknown profile', { ...base, profile: 'fapi1', client_secret: 'a-secret-of-sixteen+' }, 'profile', /./],
  ])('refuses %s with one line naming the portal and the field', (_what, client, field, message) => {
    const entry = { ...client } as Record<string, unknown>;
    if (entry.jwks === KEY) entry.jwks = { keys: [publicJwk] };
    const { loaded, lines } = load([entry]);
    expect(loaded).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^client "portal": field "${field}": `));
    expect(lines[0]).toMatch(message);
  });

  it('refuses a private key in jwks, naming the key', () => {
    const { lines } = load([{ ...base, profile: 'fapi2', jwks: { keys: [privateJwk] } }]);
    expect(lines).toEqual(['client "portal": field "jwks.keys.0": a private or symmetric key: register only the public key']);
  });

  it('refuses a key that is not a key', () => {
    const { lines } = load([{ ...base, profile: 'fapi2', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' }] } }]);
    expect(lines).toEqual([expect.stringMatching(/^client "portal": field "jwks.keys.0": not a usable public key/)]);
  });

  it('in production, keys and logout tokens only over https', () => {
    const { lines } = load(
      [
        {
          ...base,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: 'http://portal.example.jp/jwks',
          backchannel_logout_uri: 'http://portal.example.jp/logout',
        },
      ],
      { NODE_ENV: 'production' },
    );
    expect(lines).toEqual([
      'client "portal": field "jwks_uri": must be https:// in production (http:// only on localhost)',
      'client "portal": field "backchannel_logout_uri": must be https:// in production (http:// only on localhost)',
    ]);
  });
});
