import { timingSafeEqual, createHmac } from 'node:crypto';

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'compare').update(a).digest();
  const hb = createHmac('sha256', 'compare').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function hmac(key: Buffer | string, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url');
}
