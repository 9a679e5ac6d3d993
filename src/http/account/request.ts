import type { Context } from 'koa';
import type { Host } from '../../flow/host.js';
import type { InteractionDeps } from '../interaction/request.js';
import { hostFromRequest } from '../host.js';
import { render } from '../render.js';
import { holdsStrongDevice } from '../../members/credentials.js';
import { listMemberCredentials } from '../../members/reads.js';
import { isStrongAcr, STRONG_ACRS } from '../../factors/acr.js';
import { consoleScratch } from './scratch.js';
import { consoleSession, recentlyAuthenticated, startConsoleLogin, type ConsoleSession } from './console-login.js';

export type AccountDeps = InteractionDeps;

const REFERRER_COOKIE = 'kosmo.account.referrer';

/** A console page's request: the signed-in member, and a Host for the steps and factors it runs. */
export interface AccountRequest {
  ctx: Context;
  deps: AccountDeps;
  session: ConsoleSession;
  host(actionUrl: string): Host;
}

/** The member signed in, or a redirect through the provider's login (back to this page) and undefined. */
export async function accountRequest(ctx: Context, deps: AccountDeps): Promise<AccountRequest | undefined> {
  rememberReferrer(ctx, deps);
  const session = await consoleSession(ctx, deps);
  if (!session) {
    if (ctx.method === 'GET') startConsoleLogin(ctx, deps, ctx.url);
    else {
      ctx.status = 303;
      ctx.redirect('/account');
    }
    return undefined;
  }
  const secure = deps.config.issuer.startsWith('https://');
  const scratch = consoleScratch(ctx, deps.config, session.member.id, secure);
  return {
    ctx,
    deps,
    session,
    host: (actionUrl) =>
      hostFromRequest(ctx, deps, { flow: 'console', member: session.member, actionUrl, scratch, sessionAcr: session.acr, sessionId: session.sessionUid }),
  };
}

/**
 * 「続行するには再度認証してください」: a sensitive change needs a recent login. Otherwise the member
 * goes through the provider's login (max_age) and comes back to `returnTo`; returns false then.
 */
export function requireRecentLogin(request: AccountRequest, returnTo: string): boolean {
  if (recentlyAuthenticated(request.session, request.deps)) return true;
  startConsoleLogin(request.ctx, request.deps, returnTo, { reauthenticate: true, userId: request.session.member.userId });
  return false;
}

/**
 * Email codes alone never suffice for a change that could take the account over: changing the
 * address, adding or removing a device, choosing the login method, issuing recovery codes. A member
 * who holds an authenticator app or a passkey that counts as such (not one added from a session
 * proved by a mailed code: factors/acr.ts trustOfNewDevice) must have proved one of them in this
 * session.
 */
export async function strongEnough(request: AccountRequest): Promise<boolean> {
  const { deps, session } = request;
  if (isStrongAcr(session.acr)) return true;
  return !(await holdsStrongDevice(deps.sql, session.member.id, STRONG_ACRS));
}

/** Where 「認証アプリまたは生体認証で本人確認する」 leads: a login with the app or passkey, back to `returnTo`. */
export function stepUpUrl(returnTo: string): string {
  return `/account/step-up?${new URLSearchParams({ return: returnTo }).toString()}`;
}

/**
 * A sensitive page opened with a weaker session: on a GET the member logs in again with their app or
 * passkey (acr_values asks the login for it, whatever their chosen method) and comes back to
 * `returnTo`, once. When that did not help, or on a POST, `refuse` shows the page's message, with
 * 「認証アプリまたは生体認証で本人確認する」 (renderAccount passes `stepUpUrl`). False unless strong enough.
 */
export async function requireStrongFactorIfHeld(request: AccountRequest, returnTo: string, refuse: () => Promise<void>): Promise<boolean> {
  if (await strongEnough(request)) return true;
  const { ctx } = request;
  if (ctx.method === 'GET' && ctx.query.stepped !== '1') {
    startStepUp(request, returnTo);
    return false;
  }
  ctx.state.stepUpUrl = stepUpUrl(returnTo);
  await refuse();
  return false;
}

/** GET /account/step-up?return=… — the login with the app or passkey, then back to the page. */
export function startStepUp(request: AccountRequest, returnTo = String(request.ctx.query.return ?? '/account')): void {
  const back = `${returnTo}${returnTo.includes('?') ? '&' : '?'}stepped=1`;
  startConsoleLogin(request.ctx, request.deps, back, { reauthenticate: true, userId: request.session.member.userId, acrValues: STRONG_ACRS.join(' ') });
}

/**
 * What the browser's passkey manager is told on the console's pages (WebAuthn Level 3 signals): the
 * passkeys we still accept and the member's current user ID, so a deleted passkey or an old user ID
 * stops being offered. The user handle is the member's id, as registered (factors/passkey).
 */
export async function passkeySignals(request: AccountRequest): Promise<Record<string, unknown> | undefined> {
  const { deps, session } = request;
  if (!deps.config.union.authMethods.includes('passkey')) return undefined;
  const passkeys = await listMemberCredentials(deps.orm, session.member.id, 'passkey');
  return {
    rpId: deps.config.webauthn.rpId,
    userId: Buffer.from(session.member.id, 'utf8').toString('base64url'),
    credentialIds: passkeys.map((c) => c.webauthnId).filter(Boolean),
    name: session.member.userId,
    displayName: session.member.displayName,
  };
}

/** ?referrer=<client_id> (as Keycloak's account console takes it): where 「ポータルに戻る」 leads. */
function rememberReferrer(ctx: Context, deps: AccountDeps): void {
  const referrer = typeof ctx.query.referrer === 'string' ? ctx.query.referrer : undefined;
  if (referrer && deps.config.clients.some((c) => c.client_id === referrer)) {
    ctx.cookies.set(ctx.state.cookieName(REFERRER_COOKIE), referrer, {
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.config.issuer.startsWith('https://'),
      signed: true,
    });
  }
}

export function portalUrl(ctx: Context, deps: AccountDeps): string | undefined {
  const clientId = ctx.cookies.get(ctx.state.cookieName(REFERRER_COOKIE), { signed: true });
  const client = deps.config.clients.find((c) => c.client_id === clientId) ?? deps.config.clients[0];
  const home = client?.post_logout_redirect_uris[0] ?? client?.redirect_uris[0];
  return home ? new URL('/', home).toString() : undefined;
}

/** Renders a console page inside the console's layout (navigation, ポータルに戻る). */
export async function renderAccount(request: AccountRequest, view: string, vars: Record<string, unknown>, status = 200): Promise<void> {
  const signals = view === 'account-profile' || view === 'account-login-methods' ? await passkeySignals(request) : undefined;
  render(
    request.ctx,
    view,
    {
      ...vars,
      stepUpUrl: request.ctx.state.stepUpUrl,
      account: { member: request.session.member, portalUrl: portalUrl(request.ctx, request.deps), section: vars.section ?? view, passkeySignals: signals },
    },
    status,
  );
}
