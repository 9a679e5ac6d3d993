import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import type { Society } from '../config/index.js';

/** A colour a little darker (hover, focus): each channel scaled down by 20%. */
function darker(hex: string): string {
  const channels = [1, 3, 5].map((i) => Math.round(Number.parseInt(hex.slice(i, i + 2), 16) * 0.8));
  return `#${channels.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * What a member sees of the society's look (config/societies/<id>/society.json `look`): its name in
 * the header (`ctx.state.look`), and, when it has them, its accent colour as a stylesheet of its own
 * (`/society.css`, as the CSP allows only our own stylesheets) and its logo (`/society-logo`).
 */
export function societyLook(society: Society): Middleware {
  const { look } = society;
  const css = look.accentColor ? `:root { --teal: ${look.accentColor}; --teal-dark: ${darker(look.accentColor)}; }\n` : undefined;
  const logo = look.logo ? { body: readFileSync(look.logo), type: path.extname(look.logo) === '.svg' ? 'image/svg+xml' : 'image/png' } : undefined;
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/society.css' && css) {
      ctx.type = 'text/css; charset=utf-8';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = css;
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/society-logo' && logo) {
      ctx.type = logo.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      // An SVG opened on its own runs no script.
      ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
      ctx.body = logo.body;
      return;
    }
    ctx.state.look = { headerName: look.headerName, stylesheet: Boolean(css), logo: Boolean(logo) };
    await next();
  };
}
