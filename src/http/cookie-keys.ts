import { timingSafeEqual } from 'node:crypto';
import { hmac } from '../crypto.js';

/** A cookie's signature as keygrip makes it: HMAC-SHA1, base64url without padding. */
const signature = (key: string, data: string) => hmac(key, data, 'sha1');

/**
 * The keys Koa signs and checks cookies with (`app.keys`; the `cookies` package calls `sign` and
 * `index`), as keygrip does, so cookies already set stay valid, but checked with one HMAC per key
 * and `timingSafeEqual` instead of keygrip's tsscmp, which makes two more HMACs per comparison with a
 * random Buffer key: on Node 24 an HMAC with a Buffer key costs about six times one with a string
 * key, and every page and provider request checks several signed cookies.
 */
export class CookieKeys {
  constructor(private readonly keys: readonly string[]) {
    if (keys.length === 0) throw new Error('cookie keys: at least one is needed');
  }

  sign(data: string): string {
    return signature(this.keys[0]!, data);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }

  /** Which key signed `data` with `digest` (0 the current one), or -1. */
  index(data: string, digest: string): number {
    const given = Buffer.from(typeof digest === 'string' ? digest : '');
    for (let i = 0; i < this.keys.length; i++) {
      const expected = Buffer.from(signature(this.keys[i]!, data));
      if (given.length === expected.length && timingSafeEqual(given, expected)) return i;
    }
    return -1;
  }
}
