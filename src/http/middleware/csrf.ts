import type { Context, Middleware } from 'koa';
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, hmac } from '../../crypto.js';

const COOKIE = 'kosmo.csrf';
const VALUE = /^[A-Za-z0-9_-]{32,64}$/;

/**
 * Signed double-submit CSRF protection for every form we render: a random browser-bound cookie,
 * and in each form an HMAC of it that only this server can compute. The cookie is set only when a
 * page asks for the token, so protocol endpoints (token, userinfo) do not pay for it. The first key
 * makes tokens; any of `keys` is accepted (the others are from SECRETS_KEY_PREVIOUS).
 */
export function csrfProtection(keys: readonly Buffer[], secure: boolean): Middleware {
  const tokenFor = (value: string, key = keys[0]!) => hmac(key, `csrf:${value}`);
  return async (ctx, next) => {
    let value: string | undefined;
    const browserValue = () => {
      if (value) return value;
      const sent = ctx.cookies.get(COOKIE);
      if (sent && VALUE.test(sent)) return (value = sent);
      value = randomBytes(24).toString('base64url');
      ctx.cookies.set(COOKIE, value, { httpOnly: true, sameSite: 'lax', secure, signed: false, overwrite: true });
      return value;
    };
    Object.defineProperty(ctx.state, 'csrfToken', { get: () => tokenFor(browserValue()), enumerable: true, configurable: true });
    ctx.state.csrfValid = (submitted: unknown) => {
      const sent = ctx.cookies.get(COOKIE);
      return typeof submitted === 'string' && typeof sent === 'string' && VALUE.test(sent) && keys.some((key) => constantTimeEqual(submitted, tokenFor(sent, key)));
    };
    await next();
  };
}

export function csrfValid(ctx: Context, body: Record<string, unknown>): boolean {
  const check = ctx.state.csrfValid as ((s: unknown) => boolean) | undefined;
  return Boolean(check?.(body._csrf));
}
