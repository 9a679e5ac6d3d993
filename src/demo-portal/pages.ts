import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Context } from 'koa';
import { Messages } from '../i18n/index.js';
import type { DemoPortalOptions } from './options.js';
import type { PortalSession, SessionStore } from './sessions.js';

/** One-time messages shown on the top page after a redirect, by their key under portal.notice. */
export type Notice = 'cancelled' | 'login_failed' | 'session_ended' | 'logged_out' | 'logout_cancelled' | 'terms_declined';
const NOTICES: readonly Notice[] = ['cancelled', 'login_failed', 'session_ended', 'logged_out', 'logout_cancelled', 'terms_declined'];
const NOTICE_COOKIE = 'portal.notice';

export class PortalPages {
  private readonly views = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.resolve('views/demo-portal')), { autoescape: true });
  private readonly messages = new Messages(path.resolve('locales/portal'));

  constructor(
    private readonly options: DemoPortalOptions,
    private readonly sessions: SessionStore,
  ) {}

  render(ctx: Context, view: string, vars: Record<string, unknown> = {}, status = 200): void {
    const locale = ctx.state.locale;
    const session = this.sessions.find(ctx);
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = this.views.render(view, {
      t: this.messages.translator(locale).t,
      locale,
      member: session?.tokens ? { name: memberName(session) } : undefined,
      accountLinks: this.options.accountLinks ?? {},
      notice: takeNotice(ctx),
      ...vars,
    });
  }
}

/** The name the manual calls ユーザー名: the member's own name, shown at the top right. */
export function memberName(session: PortalSession): string {
  for (const source of [session.userinfo, session.claims]) {
    for (const claim of ['name', 'preferred_username']) {
      const value = source?.[claim];
      if (typeof value === 'string' && value) return value;
    }
  }
  return String(session.claims?.sub ?? '');
}

export function flashNotice(ctx: Context, notice: Notice): void {
  ctx.cookies.set(NOTICE_COOKIE, notice, { httpOnly: true, sameSite: 'lax', signed: true, secure: ctx.secure });
}

function takeNotice(ctx: Context): Notice | undefined {
  const value = ctx.cookies.get(NOTICE_COOKIE, { signed: true });
  if (value === undefined) return undefined;
  ctx.cookies.set(NOTICE_COOKIE, null, { signed: true });
  return (NOTICES as readonly string[]).includes(value) ? (value as Notice) : undefined;
}
