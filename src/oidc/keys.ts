import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import { openSecret, resealSecret, sealSecret, sealedKeyId, sealedUnderCurrentKey, SecretUnreadableError, type SecretsKeys } from '../secrets.js';

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
    await tx.run(`select pg_advisory_xact_lock(hashtext('kosmo.signing_key:' || current_setting('app.society')))`);
    let rows = await tx.rows<{ kid: string; encrypted_jwk: string }>('select kid, encrypted_jwk from signing_key order by created_at, kid');
    if (rows.length === 0) {
      for (const jwk of generateSigningKeys()) {
        await tx.run('insert into signing_key (kid, encrypted_jwk) values ($1, $2)', [
          jwk.kid,
          sealSecret(secrets, JSON.stringify(jwk), signingKeyContext(String(jwk.kid))),
        ]);
      }
      rows = await tx.rows('select kid, encrypted_jwk from signing_key order by created_at, kid');
    }
    const keys = rows.map((r) => JSON.parse(openSigningKey(secrets, r)) as Jwk);
    // RS256 first: it is the default id_token algorithm every client supports.
    keys.sort((a, b) => (a.kty === 'RSA' ? -1 : 0) - (b.kty === 'RSA' ? -1 : 0));
    return { keys };
  });
}

/**
 * `secrets rotate`: seals the stored signing keys again under SECRETS_KEY, in the caller's
 * transaction and under the lock their creation takes. A key no configured key opens stays as it is.
 */
export async function resealSigningKeys(
  tx: Sql,
  secrets: SecretsKeys,
): Promise<{ resealed: number; current: number; unreadable: { kid: string; keyId?: string }[] }> {
  await tx.run(`select pg_advisory_xact_lock(hashtext('kosmo.signing_key:' || current_setting('app.society')))`);
  const rows = await tx.rows<{ kid: string; encrypted_jwk: string }>('select kid, encrypted_jwk from signing_key order by created_at, kid for update');
  const result = { resealed: 0, current: 0, unreadable: [] as { kid: string; keyId?: string }[] };
  for (const row of rows) {
    if (sealedUnderCurrentKey(secrets, row.encrypted_jwk)) {
      result.current += 1;
      continue;
    }
    try {
      await tx.run('update signing_key set encrypted_jwk = $2 where kid = $1', [row.kid, resealSecret(secrets, row.encrypted_jwk, signingKeyContext(row.kid))]);
      result.resealed += 1;
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
      result.unreadable.push({ kid: row.kid, keyId: sealedKeyId(row.encrypted_jwk) });
    }
  }
  return result;
}

function signingKeyContext(kid: string): string {
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
