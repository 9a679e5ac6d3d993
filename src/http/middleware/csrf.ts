import type { Context, Middleware } from 'koa';
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, hmac } from '../../crypto.js';

const COOKIE = 'kosmo.csrf';

/**
 * Signed double-submit CSRF protection for every form we render: a random browser-bound cookie,
 * and in each form an HMAC of it that only this server can compute.
 */
export function csrfProtection(key: Buffer, secure: boolean): Middleware {
  const tokenFor = (value: string) => hmac(key, `csrf:${value}`);
  return async (ctx, next) => {
    let value = ctx.cookies.get(COOKIE);
    if (!value || !/^[A-Za-z0-9_-]{32,64}$/.test(value)) {
      value = randomBytes(24).toString('base64url');
      ctx.cookies.set(COOKIE, value, { httpOnly: true, sameSite: 'lax', secure, signed: false, overwrite: true });
    }
    ctx.state.csrfToken = tokenFor(value);
    ctx.state.csrfValid = (submitted: unknown) => typeof submitted === 'string' && constantTimeEqual(submitted, tokenFor(value!));
    await next();
  };
}

export function csrfValid(ctx: Context, body: Record<string, unknown>): boolean {
  const check = ctx.state.csrfValid as ((s: unknown) => boolean) | undefined;
  return Boolean(check?.(body._csrf));
}
