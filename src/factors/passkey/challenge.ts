import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hmac } from '../../crypto.js';

/**
 * WebAuthn challenges that need no row of their own: 16 random bytes, the time, and an HMAC that
 * binds them to one flow (the OIDC interaction) and one purpose. The login page can offer passkey
 * autofill without writing to the database, and an assertion made for one login cannot finish
 * another. A challenge lives `maxAgeSeconds`.
 */
export type ChallengePurpose = 'register' | 'authenticate';

function mac(key: Buffer, purpose: ChallengePurpose, flowId: string, nonce: Buffer, issuedAt: Buffer): Buffer {
  return Buffer.from(hmac(key, `webauthn:${purpose}:${flowId}:${nonce.toString('base64url')}:${issuedAt.toString('base64url')}`), 'base64url');
}

export function issueChallenge(key: Buffer, purpose: ChallengePurpose, flowId: string, now = Date.now()): string {
  const nonce = randomBytes(16);
  const issuedAt = Buffer.alloc(6);
  issuedAt.writeUIntBE(Math.floor(now / 1000), 0, 6);
  return Buffer.concat([nonce, issuedAt, mac(key, purpose, flowId, nonce, issuedAt)]).toString('base64url');
}

/** Whether `challenge` was issued by one of `keys` for this purpose and flow, less than `maxAgeSeconds` ago. */
export function challengeValid(
  keys: readonly Buffer[],
  purpose: ChallengePurpose,
  flowId: string,
  challenge: string,
  maxAgeSeconds: number,
  now = Date.now(),
): boolean {
  if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{72}$/.test(challenge)) return false;
  const raw = Buffer.from(challenge, 'base64url');
  if (raw.length !== 54) return false;
  const nonce = raw.subarray(0, 16);
  const issuedAt = raw.subarray(16, 22);
  const age = now / 1000 - issuedAt.readUIntBE(0, 6);
  if (age < -60 || age > maxAgeSeconds) return false;
  return keys.some((key) => timingSafeEqual(raw.subarray(22), mac(key, purpose, flowId, nonce, issuedAt)));
}
