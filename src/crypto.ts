import { timingSafeEqual, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'compare').update(a).digest();
  const hb = createHmac('sha256', 'compare').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/**
 * Buffer keys as KeyObjects, made once: on Node 24 an HMAC with a Buffer key costs about six times
 * one with a KeyObject or a string (its key check takes a slow path), and the CSRF check, the mail
 * log and the code and challenge MACs make one on most requests.
 */
const keyObjects = new WeakMap<Buffer, KeyObject>();

function keyObject(key: Buffer): KeyObject {
  let made = keyObjects.get(key);
  if (!made) {
    made = createSecretKey(key);
    keyObjects.set(key, made);
  }
  return made;
}

/** HMAC of `data`, base64url; SHA-256 unless `algorithm` says otherwise (cookie signatures: SHA-1, as keygrip). */
export function hmac(key: Buffer | string, data: string, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
  return createHmac(algorithm, typeof key === 'string' ? key : keyObject(key))
    .update(data)
    .digest('base64url');
}
