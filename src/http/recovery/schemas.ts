import { z } from 'zod';
import { SINGLE_USE_TOKEN_PATTERN } from '../../members/single-use-token.js';

import { field } from '../form.js';

/** The recovery forms as they arrive: bounded strings, so a tampered body parses to "empty" instead of throwing. */
export const forgotPasswordFields = z.object({ user_id: field(200) });
export const forgotUserIdFields = z.object({ birthdate: field(20), email: field(320) });
export const resetPasswordFields = z.object({ password: field(1024), password_confirmation: field(1024) });
export type ForgotPasswordForm = z.infer<typeof forgotPasswordFields>;
export type ForgotUserIdForm = z.infer<typeof forgotUserIdFields>;
export type ResetPasswordForm = z.infer<typeof resetPasswordFields>;

/** The link's token: 32 random bytes, base64url. Anything else is not one of ours. */
export const resetToken = z.string().regex(SINGLE_USE_TOKEN_PATTERN);

/** An interaction uid as node-oidc-provider makes them (nanoid). */
export const interactionUid = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/);
