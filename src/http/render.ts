import nunjucks from 'nunjucks';
import type { Context } from 'koa';
import path from 'node:path';
import { formatDateTime, type Messages, type Locale } from '../i18n/index.js';
import './state.js';

let env: nunjucks.Environment | undefined;

export function createViewEnvironment(viewsDir: string): nunjucks.Environment {
  env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.resolve(viewsDir), { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  env.addFilter('jpdate', (value: Date | string | number, locale: Locale) => formatDateTime(locale, value));
  return env;
}

export function viewEnvironment(): nunjucks.Environment {
  if (!env) throw new Error('view environment not created');
  return env;
}

/** This page's address in each language: the same query (a logout's id_token_hint, say) with lang set. */
function languageLinks(ctx: Context): Record<string, string> {
  const links: Record<string, string> = {};
  for (const lang of ['ja', 'en']) {
    const query = new URLSearchParams(ctx.querystring);
    query.set('lang', lang);
    links[lang] = `?${query.toString()}`;
  }
  return links;
}

/** Renders views/<view>.njk with the request's translator, locale, CSRF token and nonce. */
export function render(ctx: Context, view: string, vars: Record<string, unknown> = {}, status = 200): void {
  const state = ctx.state;
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  const html = viewEnvironment().render(`${view}.njk`, {
    t: state.t,
    locale: state.locale,
    csrfToken: state.csrfToken,
    cspNonce: state.cspNonce,
    unionName: state.unionName,
    look: state.look && { name: state.look.headerName[state.locale], stylesheet: state.look.stylesheet, logo: state.look.logo },
    languageLinks: languageLinks(ctx),
    ...vars,
  });
  ctx.body = state.basePath ? underBasePath(html, state.basePath) : html;
}

export type { Messages };

/**
 * A society served under a path (`https://id.example.jp/<id>`, src/http/front.ts): every
 * root-relative address the page holds in an attribute (`href="/account"`, `action="/interaction/…"`,
 * `src="/static/…"`) is under its path. Templates and handlers write addresses as if the society
 * were at the root.
 */
export function underBasePath(html: string, basePath: string): string {
  return html.replace(/(\s[a-zA-Z][a-zA-Z0-9:-]*=")(\/(?!\/)[^"]*)/g, (_m, attribute: string, url: string) =>
    url === basePath || url.startsWith(`${basePath}/`) ? `${attribute}${url}` : `${attribute}${basePath}${url}`,
  );
}
