import type { Middleware } from 'koa';
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, hmac } from '../../crypto.js';

/** Under https the cookie is `__Host-` prefixed: Secure, Path=/, no Domain, so no sibling host can set it. */
export const csrfCookieName = (secure: boolean) => (secure ? '__Host-kosmo.csrf' : 'kosmo.csrf');
const SECRET = /^[A-Za-z0-9_-]{32}$/;

export interface CsrfOptions {
  /** Whether the issuer is https (Secure, `__Host-`). */
  secure: boolean;
  /** The provider's session cookie: a token is bound to the browser's session while it has one. */
  sessionCookie: string;
  /** This cookie's name (csrfCookieName, with the society's suffix under a shared host). */
  cookie: string;
}

/**
 * CSRF protection for every form we render. The browser holds a random secret in an HttpOnly cookie
 * that carries our own MAC (a cookie written by anyone else, such as a sibling host, is ignored), and
 * each form carries an HMAC of that secret and of the provider session the browser is in. A token
 * therefore works only in the browser, and the session, it was made for: a token and cookie copied into
 * another browser fail against that browser's session. The cookie is set only when a page asks for a
 * token, so protocol endpoints (token, userinfo) do not pay for it. The first key makes cookies and
 * tokens; any of `keys` is accepted (the others are from SECRETS_KEY_PREVIOUS).
 */
export function csrfProtection(keys: readonly Buffer[], options: CsrfOptions): Middleware {
  const cookie = options.cookie;
  const cookieMac = (secret: string, key: Buffer) => hmac(key, `csrf-cookie:${secret}`);
  const tokenFor = (secret: string, session: string, key: Buffer) => hmac(key, `csrf:${secret}:${session}`);
  /** The secret of a cookie this server wrote, or undefined. */
  const secretOf = (value: string | undefined): string | undefined => {
    const dot = value?.indexOf('.') ?? -1;
    if (!value || dot < 0) return undefined;
    const secret = value.slice(0, dot);
    const mac = value.slice(dot + 1);
    return SECRET.test(secret) && keys.some((key) => constantTimeEqual(mac, cookieMac(secret, key))) ? secret : undefined;
  };
  return async (ctx, next) => {
    const session = () => ctx.cookies.get(options.sessionCookie, { signed: false }) ?? '';
    let secret: string | undefined;
    const browserSecret = () => {
      if (secret) return secret;
      secret = secretOf(ctx.cookies.get(cookie, { signed: false }));
      if (secret) return secret;
      secret = randomBytes(24).toString('base64url');
      ctx.cookies.set(cookie, `${secret}.${cookieMac(secret, keys[0]!)}`, {
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        path: '/',
        signed: false,
        overwrite: true,
      });
      return secret;
    };
    Object.defineProperty(ctx.state, 'csrfToken', { get: () => tokenFor(browserSecret(), session(), keys[0]!), enumerable: true, configurable: true });
    ctx.state.csrfValid = (submitted: unknown) => {
      const sent = secretOf(ctx.cookies.get(cookie, { signed: false }));
      return typeof submitted === 'string' && sent !== undefined && keys.some((key) => constantTimeEqual(submitted, tokenFor(sent, session(), key)));
    };
    await next();
  };
}
