import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

/** What the demo portal remembers about a browser. A real portal keeps this in its own store. */
export interface PortalSession {
  pending?: { verifier: string; state: string; nonce: string };
  idToken?: string;
  claims?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
  notice?: string;
}

const COOKIE = 'portal.sid';

export class SessionStore {
  private readonly sessions = new Map<string, PortalSession>();

  get(ctx: Context): PortalSession {
    let id = ctx.cookies.get(COOKIE, { signed: true });
    if (!id || !this.sessions.has(id)) {
      id = randomBytes(24).toString('base64url');
      this.sessions.set(id, {});
      ctx.cookies.set(COOKIE, id, { httpOnly: true, sameSite: 'lax', signed: true });
    }
    return this.sessions.get(id)!;
  }

  destroy(ctx: Context): void {
    const id = ctx.cookies.get(COOKIE, { signed: true });
    if (id) this.sessions.delete(id);
    ctx.cookies.set(COOKIE, '', { maxAge: 0 });
  }
}
