import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import { decryptSecret, encryptSecret } from '../crypto.js';

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
export async function loadOrCreateSigningKeys(sql: Sql, secretsKey: Buffer): Promise<{ keys: Jwk[] }> {
  return sql.transaction(async (tx) => {
    await tx.run(`select pg_advisory_xact_lock(hashtext('kosmo.signing_key'))`);
    let rows = await tx.rows<{ kid: string; encrypted_jwk: string }>('select kid, encrypted_jwk from signing_key order by created_at, kid');
    if (rows.length === 0) {
      for (const jwk of generateSigningKeys()) {
        await tx.run('insert into signing_key (kid, encrypted_jwk) values ($1, $2)', [jwk.kid, encryptSecret(secretsKey, JSON.stringify(jwk), `signing_key:${jwk.kid}`)]);
      }
      rows = await tx.rows('select kid, encrypted_jwk from signing_key order by created_at, kid');
    }
    const keys = rows.map((r) => JSON.parse(decryptSecret(secretsKey, r.encrypted_jwk, `signing_key:${r.kid}`)) as Jwk);
    // RS256 first: it is the default id_token algorithm every client supports.
    keys.sort((a, b) => (a.kty === 'RSA' ? -1 : 0) - (b.kty === 'RSA' ? -1 : 0));
    return { keys };
  });
}
