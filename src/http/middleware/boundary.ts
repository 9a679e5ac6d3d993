import type { Context, Middleware } from 'koa';
import { parse as parseQuery } from 'node:querystring';
import { Readable } from 'node:stream';
import { render } from '../render.js';

/**
 * The one place where what a client sends is checked before anything reads it: our forms and
 * oidc-provider's endpoints alike, before a value can reach PostgreSQL or a template. Every path
 * segment, query parameter and form field must be one well-formed string (no NUL byte, no lone
 * surrogate, no repeated name, bounded length); request bodies are never compressed. Anything else
 * is answered 400 (415 for an encoding) with a clear page, or a JSON error for a portal's back end.
 */
export const BOUNDARY_LIMITS = {
  /** Characters in one query or form value: a JWT (id_token_hint) fits, a flood does not. */
  value: 8192,
  name: 128,
  fields: 64,
  path: 2048,
  /** Bytes of a form body; the routes keep their own smaller limits. */
  body: 64 * 1024,
};

type Problem = 'bad_input' | 'unsupported_encoding' | 'too_large';

class Refused extends Error {
  constructor(
    readonly problem: Problem,
    readonly status: number,
  ) {
    super(problem);
  }
}

/** No lone surrogate (String.prototype.isWellFormed, Node 20+; TypeScript's lib here predates it). */
const wellFormed = (value: string) => (value as string & { isWellFormed(): boolean }).isWellFormed();

function checkString(value: string, max: number): void {
  if (value.length > max || value.includes('\u0000') || !wellFormed(value)) throw new Refused('bad_input', 400);
}

/** Query strings and form bodies: name=value pairs, each name once. */
function checkFields(fields: Record<string, string | string[] | undefined>): void {
  const names = Object.keys(fields);
  if (names.length > BOUNDARY_LIMITS.fields) throw new Refused('bad_input', 400);
  for (const name of names) {
    checkString(name, BOUNDARY_LIMITS.name);
    const value = fields[name];
    if (typeof value !== 'string') throw new Refused('bad_input', 400);
    checkString(value, BOUNDARY_LIMITS.value);
  }
}

function checkPath(path: string): void {
  if (path.length > BOUNDARY_LIMITS.path) throw new Refused('bad_input', 414);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new Refused('bad_input', 400);
  }
  checkString(decoded, BOUNDARY_LIMITS.path);
}

async function readBody(ctx: Context): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > BOUNDARY_LIMITS.body) throw new Refused('too_large', 413);
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > BOUNDARY_LIMITS.body) throw new Refused('too_large', 413);
      chunks.push(chunk);
    }
  } catch (err) {
    throw err instanceof Refused ? err : new Refused('bad_input', 400);
  }
  return Buffer.concat(chunks, received);
}

/**
 * The parsers after us (our routes' and oidc-provider's) read the body from `ctx.req`: they get the
 * same bytes again, with the original request's headers. Koa's own getters keep using the original.
 */
function replay(ctx: Context, body: Buffer): void {
  const original = ctx.req;
  const again = Readable.from([body]) as Readable & Record<string, unknown>;
  for (const key of [
    'headers',
    'rawHeaders',
    'method',
    'url',
    'httpVersion',
    'httpVersionMajor',
    'httpVersionMinor',
    'socket',
    'connection',
    'trailers',
    'complete',
  ] as const) {
    again[key] = (original as unknown as Record<string, unknown>)[key];
  }
  ctx.req = again as unknown as Context['req'];
}

function refuse(ctx: Context, refused: Refused, jsonOnly: boolean): void {
  // A portal's back end (token, introspection, revocation) reads JSON; a browser gets a page.
  if (jsonOnly || ctx.accepts('html', 'json') === 'json') {
    ctx.status = refused.status;
    ctx.body = {
      error: 'invalid_request',
      error_description: refused.problem === 'too_large' ? 'request too large' : 'request contains malformed or oversized values',
    };
    return;
  }
  const message = { bad_input: 'error.bad_input', unsupported_encoding: 'error.unsupported_encoding', too_large: 'error.too_large' }[refused.problem];
  render(ctx, 'error', { title: refused.problem === 'too_large' ? 'error.title' : 'error.bad_input_title', message }, refused.status);
}

/** `jsonOnly`: the back-channel endpoints, which answer JSON to anyone (app.ts). */
export function boundaryValidation(options: { jsonOnly?: boolean } = {}): Middleware {
  const jsonOnly = options.jsonOnly ?? false;
  return async (ctx, next) => {
    try {
      checkPath(ctx.path);
      checkFields(ctx.querystring ? parseQuery(ctx.querystring) : {});
      const encoding = ctx.get('content-encoding').trim().toLowerCase();
      if (encoding && encoding !== 'identity') throw new Refused('unsupported_encoding', 415);
      if (ctx.is('application/x-www-form-urlencoded')) {
        const body = await readBody(ctx);
        const text = body.toString('utf8');
        checkFields(parseQuery(text));
        replay(ctx, body);
      }
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      return refuse(ctx, err, jsonOnly);
    }
    await next();
  };
}
