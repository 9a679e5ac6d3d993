import type { Context, Middleware } from 'koa';
import { LOCALES, pickLocale, type Locale, type Messages } from '../../i18n/index.js';

const COOKIE = 'kosmo.lang';

/**
 * Japanese unless the member chose otherwise: `?lang=` (remembered in a cookie), then the portal's
 * `ui_locales` (applied by the interaction routes through `useLocale`), then ja.
 */
export function localeMiddleware(messages: Messages, secure: boolean, unionName: { ja: string; en: string }): Middleware {
  return async (ctx, next) => {
    const asked = typeof ctx.query.lang === 'string' && (LOCALES as readonly string[]).includes(ctx.query.lang) ? ctx.query.lang : undefined;
    if (asked) ctx.cookies.set(COOKIE, asked, { httpOnly: true, sameSite: 'lax', secure, maxAge: 365 * 24 * 3600 * 1000 });
    const chosen = asked ?? ctx.cookies.get(COOKIE);
    ctx.state.localeChosen = Boolean(chosen);
    useLocale(ctx, messages, pickLocale(chosen), unionName);
    await next();
  };
}

export function useLocale(ctx: Context, messages: Messages, locale: Locale, unionName?: { ja: string; en: string }): void {
  const translator = messages.translator(locale);
  ctx.state.locale = locale;
  ctx.state.t = translator.t;
  ctx.state.messages = messages;
  if (unionName) ctx.state.unionNames = unionName;
  const names = ctx.state.unionNames;
  if (names) ctx.state.unionName = names[locale];
}

/** Applies the portal's ui_locales unless the member picked a language themselves. */
export function applyUiLocales(ctx: Context, uiLocales: unknown): void {
  if (ctx.state.localeChosen || typeof uiLocales !== 'string') return;
  ctx.state.uiLocalesApplied = true;
  useLocale(ctx, ctx.state.messages, pickLocale(uiLocales));
}

/** Once the member is known, their saved language applies unless this browser or the portal chose one. */
export function applyMemberLocale(ctx: Context, memberLocale: string | null | undefined): void {
  if (ctx.state.localeChosen || ctx.state.uiLocalesApplied || !memberLocale) return;
  useLocale(ctx, ctx.state.messages, pickLocale(memberLocale));
}
