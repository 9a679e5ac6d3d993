import { createHash, randomBytes } from 'node:crypto';

/**
 * Links sent by mail (email verification, password reset) carry 32 random bytes; the database keeps
 * only a SHA-256 of them, so a copy of the table cannot be used to follow a link.
 */
export function newSingleUseToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The shape every token we mail has; anything else is refused before it reaches the database. */
export const SINGLE_USE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,100}$/;
