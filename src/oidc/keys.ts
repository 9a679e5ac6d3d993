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
 * Every process reads its stored signing keys this often: a key `keys rotate` added is published by
 * every process within this time, and a key starts or stops signing within it of its time.
 */
export const KEY_CHECK_MS = 60_000;

/** What a society signs with, and what its JWKS publishes. */
export interface SigningKeySet {
  /** Private JWKs: the signing key of each algorithm first; keys that only verify carry `key_ops: ["verify"]`. */
  keys: Jwk[];
  /** When the set changes next (a key starts signing, or retires), if it will. */
  nextChange?: Date;
  /** Which key does what: equal sets have equal fingerprints. */
  fingerprint: string;
}

interface KeyRow {
  kid: string;
  encrypted_jwk: string;
  activates_at: Date;
  retires_at: Date | null;
  now: Date;
}

const LOCK = `select pg_advisory_xact_lock(hashtext('kosmo.signing_key:' || current_setting('app.society')))`;
const LIVE_KEYS = `select kid, encrypted_jwk, activates_at, retires_at, now() as now from signing_key
  where retires_at is null or retires_at > now() order by activates_at desc, kid`;

/**
 * A society's signing keys, kept in its rows, encrypted with SECRETS_KEY: generated the first time,
 * rotated by `keys rotate` (rotateSigningKeys). Every key not retired is published; of each
 * algorithm, the newest key whose time has come signs, and the others only verify (a new key before
 * its time, so that relying parties have it before it signs anything; an old key until the tokens it
 * signed have expired). Every process reads the same rows, so every process signs with the same key.
 * Production may read a key file instead (JWKS_FILE, a society's jwks.json), which does not rotate.
 */
export async function loadOrCreateSigningKeys(sql: Sql, secrets: SecretsKeys): Promise<SigningKeySet> {
  const existing = await sql.rows<KeyRow>(LIVE_KEYS);
  if (existing.length > 0) return signingKeySet(existing, secrets);
  return sql.transaction(async (tx) => {
    await tx.run(LOCK);
    let rows = await tx.rows<KeyRow>(LIVE_KEYS);
    if (rows.length === 0) {
      await insertKeys(tx, secrets, generateSigningKeys(), 0);
      rows = await tx.rows<KeyRow>(LIVE_KEYS);
    }
    return signingKeySet(rows, secrets);
  });
}

function signingKeySet(rows: KeyRow[], secrets: SecretsKeys): SigningKeySet {
  const now = new Date(rows[0]!.now).getTime();
  const signing = new Map<string, Jwk>();
  const verifying: Jwk[] = [];
  let nextChange: number | undefined;
  const later = (at: Date | null) => {
    const time = at ? new Date(at).getTime() : undefined;
    if (time !== undefined && time > now && (nextChange === undefined || time < nextChange)) nextChange = time;
  };
  // Newest first: the first active key of an algorithm signs.
  for (const row of rows) {
    const jwk = JSON.parse(openSigningKey(secrets, row)) as Jwk;
    const alg = String(jwk.alg);
    later(row.activates_at);
    later(row.retires_at);
    if (new Date(row.activates_at).getTime() <= now && !signing.has(alg)) signing.set(alg, jwk);
    else verifying.push({ ...jwk, key_ops: ['verify'] });
  }
  // RS256 first: it is the default id_token algorithm every client supports.
  const keys = [...signing.values()].sort((a, b) => (a.kty === 'RSA' ? -1 : 0) - (b.kty === 'RSA' ? -1 : 0));
  keys.push(...verifying);
  return {
    keys,
    nextChange: nextChange === undefined ? undefined : new Date(nextChange),
    fingerprint: keys.map((k) => `${k.kid}:${k.key_ops ? 'verify' : 'sign'}`).join(','),
  };
}

async function insertKeys(tx: Sql, secrets: SecretsKeys, keys: Jwk[], activatesInSeconds: number): Promise<void> {
  for (const jwk of keys) {
    await tx.run(`insert into signing_key (kid, encrypted_jwk, activates_at) values ($1, $2, now() + make_interval(secs => $3))`, [
      jwk.kid,
      sealSecret(secrets, JSON.stringify(jwk), signingKeyContext(String(jwk.kid))),
      activatesInSeconds,
    ]);
  }
}

export interface RotationPlan {
  /** How long the new keys are published before they sign: longer than relying parties cache the JWKS. */
  graceSeconds: number;
  /** How long a replaced key stays published after the new one signs: longer than the tokens it signed live. */
  retireAfterSeconds: number;
}

export interface Rotation {
  added: { kid: string; alg: string }[];
  activatesAt: Date;
  retiring: { kid: string; retiresAt: Date }[];
}

/**
 * `keys rotate`: one new key per algorithm, published now and signing after the grace period; every
 * key in use retires once the tokens it may still sign have expired. Keys retired already are deleted.
 */
export async function rotateSigningKeys(tx: Sql, secrets: SecretsKeys, plan: RotationPlan): Promise<Rotation> {
  await tx.run(LOCK);
  const fresh = generateSigningKeys();
  const { activates_at: activatesAt } = (await tx.one<{ activates_at: Date }>(`select now() + make_interval(secs => $1) as activates_at`, [
    plan.graceSeconds,
  ]))!;
  const retiring = await tx.rows<{ kid: string; retires_at: Date }>(
    `update signing_key set retires_at = $1::timestamptz + make_interval(secs => $2)
     where retires_at is null returning kid, retires_at`,
    [activatesAt, plan.retireAfterSeconds],
  );
  await insertKeys(tx, secrets, fresh, plan.graceSeconds);
  await tx.run('delete from signing_key where retires_at <= now()');
  return {
    added: fresh.map((k) => ({ kid: String(k.kid), alg: String(k.alg) })),
    activatesAt: new Date(activatesAt),
    retiring: retiring.map((r) => ({ kid: r.kid, retiresAt: new Date(r.retires_at) })),
  };
}

/**
 * `secrets rotate`: seals the stored signing keys again under SECRETS_KEY, in the caller's
 * transaction and under the lock their creation takes. A key no configured key opens stays as it is.
 */
export async function resealSigningKeys(
  tx: Sql,
  secrets: SecretsKeys,
): Promise<{ resealed: number; current: number; unreadable: { kid: string; keyId?: string }[] }> {
  await tx.run(LOCK);
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
