import type { Context } from 'koa';
import { z } from 'zod';
import { field } from '../flow/form.js';

export { field };

/** A form as the body parser left it: an object of its fields, or empty. */
export type FormBody = Record<string, unknown>;
export const formBody = (ctx: { request: { body?: unknown } }): FormBody => {
  const body = ctx.request.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as FormBody) : {};
};

/** The fields of a form that a factor or step reads itself (it declares and parses its own). */
export const anyForm: z.ZodType<FormBody> = z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {}), z.record(z.string(), z.unknown()));

/**
 * One page's form: its schema, what a valid post does, and the page again (status 400, the
 * session message, what the member typed that is not a secret) when the post does not carry this
 * browser's CSRF token. `R` is what the page's handlers get (a console request, a login …).
 */
export interface FormSpec<R, F> {
  schema: z.ZodType<F>;
  submit(request: R, form: F): Promise<void> | void;
  refused(request: R, form: F): Promise<void> | void;
}

/**
 * The one place a posted form's CSRF token is checked (src/http/middleware/csrf.ts makes and
 * verifies tokens): every POST route of our pages is registered through this, and the token is
 * checked before the form is parsed or anything is looked up. test/http/every-form-csrf.test.ts
 * posts to every route without a token.
 */
export function postForm<R, F>(ctxOf: (request: R) => Context, spec: FormSpec<R, F>): (request: R) => Promise<void> {
  return async (request) => {
    const ctx = ctxOf(request);
    const body = formBody(ctx);
    const valid = ctx.state.csrfValid(body._csrf);
    const form = spec.schema.parse(body);
    await (valid ? spec.submit(request, form) : spec.refused(request, form));
  };
}
