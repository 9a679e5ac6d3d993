import type { Middleware } from 'koa';
import { randomBytes } from 'node:crypto';

/**
 * Strict headers on every response. `form-action` must also allow the portals' origins: browsers
 * apply it to the redirect that follows a form post (login -> portal callback, logout -> portal).
 */
/**
 * The back-channel endpoints (token, introspection, revocation, userinfo, JWKS) answer JSON only:
 * the same protections without a per-request nonce, as one constant policy.
 */
export function apiSecurityHeaders(secure: boolean): Middleware {
  const headers: Record<string, string> = {
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    ...(secure ? { 'Strict-Transport-Security': 'max-age=63072000; includeSubDomains' } : {}),
  };
  return async (ctx, next) => {
    ctx.set(headers);
    await next();
  };
}

export function securityHeaders(formTargets: string[], secure: boolean): Middleware {
  const formAction = ["'self'", ...new Set(formTargets)].join(' ');
  return async (ctx, next) => {
    const nonce = randomBytes(16).toString('base64');
    ctx.state.cspNonce = nonce;
    ctx.set(
      'Content-Security-Policy',
      [
        "default-src 'self'",
        `script-src 'self' 'nonce-${nonce}'`,
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        `form-action ${formAction}`,
        "frame-ancestors 'none'",
      ].join('; '),
    );
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (secure) ctx.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
    await next();
  };
}
