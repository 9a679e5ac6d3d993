import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (authenticator-app secrets, development signing keys, sealed scratch values) are
 * AES-256-GCM under SECRETS_KEY. A change of key is a rotation, not a loss: the key being replaced
 * goes to SECRETS_KEY_PREVIOUS, which still opens what it sealed, and `npm run admin -- secrets
 * rotate` seals every stored secret again under the new key. Config satisfies this interface.
 */
export interface SecretsKeys {
  /** SECRETS_KEY: seals (and HMACs) everything new. */
  readonly secretsKey: Buffer;
  /** SECRETS_KEY_PREVIOUS: still opens what it sealed, still verifies what it HMACed. */
  readonly previousSecretsKeys: readonly Buffer[];
}

/** The current key first, then the previous ones: the keys that may have made a stored value. */
export function acceptedKeys(keys: SecretsKeys): Buffer[] {
  return [keys.secretsKey, ...keys.previousSecretsKeys];
}

/**
 * A key's public name: 8 characters of an HMAC the key makes of a fixed text (it says nothing about
 * the key). Each sealed secret carries it, so opening picks the key without trying them all, and
 * an operator can tell which key a leftover secret needs.
 */
export function secretsKeyId(key: Buffer): string {
  let id = keyIds.get(key);
  if (!id) {
    id = createHmac('sha256', key).update('kosmo secrets key id').digest().subarray(0, 6).toString('base64url');
    keyIds.set(key, id);
  }
  return id;
}
/** Keys are read once at start; their ids are asked for on every secret opened. */
const keyIds = new WeakMap<Buffer, string>();

/** A sealed secret that none of the configured keys opens (its key was lost), or that is not a sealed secret at all. */
export class SecretUnreadableError extends Error {
  constructor(
    readonly keyId: string | undefined,
    reason: string,
  ) {
    super(`secret cannot be decrypted: ${reason}`);
  }
}

const CURRENT_FORMAT = 'v2';
/** Before key ids: "v1.<iv>.<tag>.<ciphertext>", opened by trying each accepted key. */
const KEYLESS_FORMAT = 'v1';

/**
 * Seals `plaintext` under SECRETS_KEY: "v2.<key id>.<iv>.<tag>.<ciphertext>" in base64url.
 * `context` is authenticated with it (the member's id, a key's kid): a value moved elsewhere does not open.
 */
export function sealSecret(keys: SecretsKeys, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.secretsKey, iv);
  cipher.setAAD(Buffer.from(context));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [CURRENT_FORMAT, secretsKeyId(keys.secretsKey), iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(
    '.',
  );
}

function openWith(key: Buffer, parts: { iv: string; tag: string; ct: string }, context: string): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parts.iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(parts.tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(parts.ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The key id a sealed secret names; undefined for the format before key ids (or no sealed secret). */
export function sealedKeyId(sealed: string): string | undefined {
  const [version, keyId] = sealed.split('.');
  return version === CURRENT_FORMAT ? keyId : undefined;
}

/** Opens a secret sealed under SECRETS_KEY or one of SECRETS_KEY_PREVIOUS; throws SecretUnreadableError otherwise. */
export function openSecret(keys: SecretsKeys, sealed: string, context: string): string {
  const parts = sealed.split('.');
  let candidates: Buffer[];
  let keyId: string | undefined;
  let body: string[];
  if (parts[0] === CURRENT_FORMAT && parts.length === 5) {
    keyId = parts[1]!;
    candidates = acceptedKeys(keys).filter((k) => secretsKeyId(k) === keyId);
    body = parts.slice(2);
  } else if (parts[0] === KEYLESS_FORMAT && parts.length === 4) {
    candidates = acceptedKeys(keys);
    body = parts.slice(1);
  } else {
    throw new SecretUnreadableError(undefined, 'not a sealed secret');
  }
  const [iv, tag, ct] = body as [string, string, string];
  for (const key of candidates) {
    const plaintext = openWith(key, { iv, tag, ct }, context);
    if (plaintext !== undefined) return plaintext;
  }
  throw new SecretUnreadableError(
    keyId,
    candidates.length === 0
      ? `sealed with key id ${keyId}, which is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS`
      : keyId
        ? `sealed with key id ${keyId}, but it does not open (altered, or sealed for another record)`
        : 'no configured key opens it (sealed before key ids, with a key that is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS)',
  );
}

/** How every secret sealed under SECRETS_KEY begins, for finding in SQL those that are not. */
export function currentSealPrefix(keys: SecretsKeys): string {
  return `${CURRENT_FORMAT}.${secretsKeyId(keys.secretsKey)}.`;
}

/** Whether a sealed secret is already under SECRETS_KEY (then `secrets rotate` leaves it alone). */
export function sealedUnderCurrentKey(keys: SecretsKeys, sealed: string): boolean {
  return sealed.startsWith(currentSealPrefix(keys));
}

/** The same secret sealed under SECRETS_KEY; throws SecretUnreadableError when no configured key opens it. */
export function resealSecret(keys: SecretsKeys, sealed: string, context: string): string {
  return sealSecret(keys, openSecret(keys, sealed, context), context);
}
