import type { Context } from 'koa';
import { createHash, randomBytes } from 'node:crypto';
import { findMemberById, type Member } from '../../members/reads.js';
import { ACCOUNT_CONSOLE_CLIENT_ID, accountConsoleRedirectUri } from '../../oidc/provider.js';
import { applyMemberLocale } from '../middleware/locale.js';
import type { InteractionDeps } from '../interaction/request.js';

const PENDING_COOKIE = 'kosmo.account';

/** The member signed in to this browser's provider session, and when they last proved who they are. */
export interface ConsoleSession {
  member: Member;
  sessionUid: string;
  /** Seconds since the epoch of the last full login (password and second factor). */
  loginTs: number;
  amr: string[];
  /** The level that login reached (factors/acr.ts), with what its device is trusted for. */
  acr: string;
}

/** The provider's own session: the console keeps none of its own. */
export async function consoleSession(ctx: Context, deps: InteractionDeps): Promise<ConsoleSession | undefined> {
  const session = await deps.provider.Session.get(ctx as never);
  if (!session.accountId) return undefined;
  const member = await findMemberById(deps.orm, session.accountId);
  if (!member) return undefined;
  applyMemberLocale(ctx, member.locale);
  return {
    member,
    sessionUid: session.uid,
    loginTs: Number(session.loginTs ?? 0),
    amr: (session.amr as string[] | undefined) ?? [],
    acr: String(session.acr ?? ''),
  };
}

/** Whether the last login is recent enough for a sensitive change (「続行するには再度認証してください」 otherwise). */
export function recentlyAuthenticated(session: ConsoleSession, deps: InteractionDeps): boolean {
  return Date.now() / 1000 - session.loginTs <= deps.config.union.account.reauthSeconds;
}

/** Only our own pages may be returned to after a login. */
function safeReturnPath(path: string): string {
  return /^\/account(\/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&_%-]*)?$/.test(path) ? path : '/account';
}

/**
 * Sends the member through the provider's login as the console client and back to `returnTo`.
 * With `reauthenticate`, the provider asks for a fresh login (password, then the second factor:
 * the same pipeline as any login).
 */
export function startConsoleLogin(
  ctx: Context,
  deps: InteractionDeps,
  returnTo: string,
  options: { reauthenticate?: boolean; userId?: string; acrValues?: string } = {},
): string {
  const state = randomBytes(16).toString('base64url');
  const secure = deps.config.issuer.startsWith('https://');
  ctx.cookies.set(ctx.state.cookieName(PENDING_COOKIE), JSON.stringify({ state, returnTo: safeReturnPath(returnTo) }), {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    signed: true,
    maxAge: deps.config.union.ttl.interactionSeconds * 1000,
  });
  const query = new URLSearchParams({
    client_id: ACCOUNT_CONSOLE_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: accountConsoleRedirectUri(deps.config.issuer),
    state,
    // The console trusts the provider's session, not the code, which it never redeems; PKCE is
    // required of a public client all the same.
    code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    code_challenge_method: 'S256',
    ui_locales: String(ctx.state.locale ?? 'ja'),
  });
  // Asked only once the last login is older than the console allows: prompt=login makes the provider
  // ask again whatever its own rounding of auth_time (max_age alone could bounce back at once).
  if (options.reauthenticate) {
    query.set('prompt', 'login');
    query.set('max_age', String(deps.config.union.account.reauthSeconds));
  }
  if (options.userId) query.set('login_hint', options.userId);
  // Before a change that needs an app or a passkey: the login asks for one of them (flow/login.ts secondFactorOf).
  if (options.acrValues) query.set('acr_values', options.acrValues);
  ctx.status = 303;
  ctx.redirect(`/auth?${query.toString()}`);
  return state;
}

/**
 * Where a change waiting for a login is applied. The callback sends the browser there with the
 * `state` of the login that came back, and the change applies only for the login it started itself.
 */
export const APPLY_PATH = '/account/apply';

/** GET /account/callback: back from the provider; the page the member was going to. */
export function finishConsoleLogin(ctx: Context): string | undefined {
  const raw = ctx.cookies.get(ctx.state.cookieName(PENDING_COOKIE), { signed: true });
  ctx.cookies.set(ctx.state.cookieName(PENDING_COOKIE), null);
  let pending: { state?: unknown; returnTo?: unknown } = {};
  try {
    pending = raw ? (JSON.parse(raw) as typeof pending) : {};
  } catch {
    /* a tampered cookie fails the signature first */
  }
  if (typeof pending.state !== 'string' || pending.state !== ctx.query.state) return undefined;
  const returnTo = safeReturnPath(String(pending.returnTo ?? '/account'));
  return returnTo.split('?')[0] === APPLY_PATH ? `${APPLY_PATH}?login=${pending.state}` : returnTo;
}

/**
 * Where 「戻る」 on 「続行するには再度認証してください」 leads (the provider answered access_denied):
 * the console section the change came from, never back into the change that asked for the login.
 */
export function consoleSectionOf(returnTo: string): string {
  return /^\/account\/(password|login-methods|credentials|factors|recovery-codes|sessions)\b/.test(returnTo) ? '/account/login-methods' : '/account';
}
