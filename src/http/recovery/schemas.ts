import { z } from 'zod';
import { SINGLE_USE_TOKEN_PATTERN } from '../../members/single-use-token.js';

/**
 * The recovery forms as they arrive: every field is an optional string of bounded length, so a
 * tampered body (arrays, huge values) parses to "empty" instead of throwing.
 */
const field = (max: number) => z.preprocess((v) => (typeof v === 'string' ? v.slice(0, max) : ''), z.string());

export const forgotPasswordForm = z.object({ _csrf: z.unknown().optional(), user_id: field(200) });
export const forgotUserIdForm = z.object({ _csrf: z.unknown().optional(), birthdate: field(20), email: field(320) });
export const resetPasswordForm = z.object({ _csrf: z.unknown().optional(), password: field(1024), password_confirmation: field(1024) });

/** The link's token: 32 random bytes, base64url. Anything else is not one of ours. */
export const resetToken = z.string().regex(SINGLE_USE_TOKEN_PATTERN);

/** An interaction uid as node-oidc-provider makes them (nanoid). */
export const interactionUid = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/);

export type FormBody = Record<string, unknown>;
export const formBody = (ctx: { request: { body?: unknown } }): FormBody => {
  const body = ctx.request.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as FormBody) : {};
};
