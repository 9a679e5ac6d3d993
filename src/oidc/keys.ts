import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import { openSecret, sealSecret, SecretUnreadableError, type SecretsKeys } from '../secrets.js';

type Jwk = Record<string, unknown>;

/** One RS256 and one ES256 private key, for development storage and for `admin keys generate`. */
export function generateSigningKeys(): Jwk[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as Jwk;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Jwk;
  return [
    { ...rsa, kid: randomUUID(), alg: 'RS256', use: 'sig' },
    { ...ec, kid: randomUUID(), alg: 'ES256', use: 'sig' },
  ];
}

/**
 * Development signing keys: generated once, encrypted with SECRETS_KEY and kept in the database,
 * so every process and every restart signs with the same keys. Production reads JWKS_FILE instead.
 */
export async function loadOrCreateSigningKeys(sql: Sql, secrets: SecretsKeys): Promise<{ keys: Jwk[] }> {
  return sql.transaction(async (tx) => {
    await tx.run(`select pg_advisory_xact_lock(hashtext('kosmo.signing_key'))`);
    let rows = await tx.rows<{ kid: string; encrypted_jwk: string }>('select kid, encrypted_jwk from signing_key order by created_at, kid');
    if (rows.length === 0) {
      for (const jwk of generateSigningKeys()) {
        await tx.run('insert into signing_key (kid, encrypted_jwk) values ($1, $2)', [jwk.kid, sealSecret(secrets, JSON.stringify(jwk), signingKeyContext(String(jwk.kid)))]);
      }
      rows = await tx.rows('select kid, encrypted_jwk from signing_key order by created_at, kid');
    }
    const keys = rows.map((r) => JSON.parse(openSigningKey(secrets, r)) as Jwk);
    // RS256 first: it is the default id_token algorithm every client supports.
    keys.sort((a, b) => (a.kty === 'RSA' ? -1 : 0) - (b.kty === 'RSA' ? -1 : 0));
    return { keys };
  });
}

export function signingKeyContext(kid: string): string {
  return `signing_key:${kid}`;
}

/** A stored key that no configured key opens stops the start with one line: signing with other keys would invalidate every token. */
function openSigningKey(secrets: SecretsKeys, row: { kid: string; encrypted_jwk: string }): string {
  try {
    return openSecret(secrets, row.encrypted_jwk, signingKeyContext(row.kid));
  } catch (err) {
    if (!(err instanceof SecretUnreadableError)) throw err;
    throw new Error(`signing key ${row.kid} in the database: ${err.message}; set SECRETS_KEY_PREVIOUS to the key it was sealed with, or set JWKS_FILE`);
  }
}
