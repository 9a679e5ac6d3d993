import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PortalSigningKey } from './options.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * The demo FAPI portal's signing key: made once (ES256) and kept in `dir` (the development data
 * folder, mode 0600), so the provider's cached copy of its jwks_uri stays right across restarts.
 * A real portal keeps its key in its own secret store.
 */
export async function demoPortalSigningKey(dir: string, clientId: string): Promise<PortalSigningKey> {
  const file = path.join(dir, `${clientId.replace(/[^a-z0-9-]/gi, '_')}.private.jwk.json`);
  let stored: JsonWebKey & { kid: string };
  if (existsSync(file)) {
    stored = JSON.parse(readFileSync(file, 'utf8')) as JsonWebKey & { kid: string };
  } else {
    const pair = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    stored = { ...(await crypto.subtle.exportKey('jwk', pair.privateKey)), kid: randomUUID() };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
  }
  const { kid, d: _private, key_ops: _ops, ext: _ext, ...publicPart } = stored;
  const privateKey = await crypto.subtle.importKey('jwk', stored, ALG, false, ['sign']);
  return { privateKey, publicJwk: { ...publicPart, kid, alg: 'ES256', use: 'sig' } };
}
