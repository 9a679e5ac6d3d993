import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { DPoPHandle } from 'openid-client';

/** An authorization request on its way: what the callback must see again. */
export interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  /** A prompt=none check after the provider's logout confirmation: is the member still logged in there? */
  afterLogout?: boolean;
  /** FAPI 2.0: the DPoP key the pushed request named; the tokens will be bound to it. */
  dpop?: DPoPHandle;
}

export interface PortalTokens {
  idToken: string;
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds. */
  accessTokenExpiresAt: number;
}

/** What the demo portal remembers about a browser. A real portal keeps this in its own store. */
export interface PortalSession {
  expiresAt: number;
  pending?: PendingLogin;
  tokens?: PortalTokens;
  claims?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
  /** FAPI 2.0: the DPoP key the tokens are bound to (every request with them carries its proof). */
  dpop?: DPoPHandle;
  /** Sent to the provider's logout confirmation; it comes back as ?state= whichever button was pressed. */
  logoutState?: string;
  /** A refresh in flight: a second one would reuse the rotated refresh token and lose the grant. */
  refreshing?: Promise<void>;
}

const COOKIE = 'portal.sid';
const IDLE_MS = 8 * 60 * 60 * 1000;

/** In-memory sessions behind an httpOnly, SameSite=Lax, signed cookie. */
export class SessionStore {
  private readonly sessions = new Map<string, PortalSession>();

  constructor(private readonly secureCookies: boolean) {}

  find(ctx: Context): PortalSession | undefined {
    const id = ctx.cookies.get(COOKIE, { signed: true });
    const session = id ? this.sessions.get(id) : undefined;
    if (!session || session.expiresAt < Date.now()) return undefined;
    session.expiresAt = Date.now() + IDLE_MS;
    return session;
  }

  /** Always a new id (never one the browser brought), so a planted cookie cannot be logged in. */
  start(ctx: Context, values: Omit<PortalSession, 'expiresAt'>): PortalSession {
    this.destroy(ctx);
    this.sweep();
    const id = randomBytes(24).toString('base64url');
    const session = { ...values, expiresAt: Date.now() + IDLE_MS };
    this.sessions.set(id, session);
    ctx.cookies.set(COOKIE, id, { httpOnly: true, sameSite: 'lax', secure: this.secureCookies, signed: true });
    return session;
  }

  destroy(ctx: Context): void {
    const id = ctx.cookies.get(COOKIE, { signed: true });
    if (id) this.sessions.delete(id);
    ctx.cookies.set(COOKIE, null, { signed: true });
  }

  /**
   * A back-channel logout: every session whose ID token claims match (that `sid`, or that `sub`) is
   * no longer logged in; its tokens and claims go, its cookie stays, so a return from the provider's
   * logout confirmation (`logoutState`) is still recognised. How many sessions were logged out.
   */
  logOutWhere(matches: (claims: Record<string, unknown>) => boolean): number {
    let ended = 0;
    for (const session of this.sessions.values()) {
      if (session.tokens && session.claims && matches(session.claims)) {
        session.tokens = undefined;
        session.claims = undefined;
        session.userinfo = undefined;
        ended++;
      }
    }
    return ended;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) if (session.expiresAt < now) this.sessions.delete(id);
  }
}
