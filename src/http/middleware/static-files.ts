import type { Middleware } from 'koa';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Files from installed packages served from our own origin (the strict CSP allows only 'self'),
 * read from node_modules at start: /static/<name> -> file.
 */
export const PACKAGED_STATIC_FILES: Record<string, string> = {
  'simplewebauthn-browser.js': 'node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js',
};

/** Serves the few files under static/ (and the packaged ones) from memory at /static/<name>; nothing else is reachable. */
export function staticFiles(dir: string, packaged: Record<string, string> = PACKAGED_STATIC_FILES): Middleware {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) files.set(`/static/${name}`, { body: readFileSync(path.join(dir, name)), type });
  }
  for (const [name, file] of Object.entries(packaged)) {
    files.set(`/static/${name}`, { body: readFileSync(path.resolve(file)), type: TYPES[path.extname(name)]! });
  }
  // Browsers ask for /favicon.ico whatever the pages link: the same small icon.
  const icon = files.get('/static/favicon.svg');
  if (icon) files.set('/favicon.ico', icon);
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
  };
}
