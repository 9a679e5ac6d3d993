import { z } from 'zod';

/**
 * A society's policy: what a 健保組合 may tune without touching code. Read from its
 * config/societies/<id>/society.json (or the single-society config/union.json).
 */
export const unionSchema = z.object({
  name: z.object({ ja: z.string().min(1), en: z.string().min(1) }),
  contact: z.object({ ja: z.string(), en: z.string() }).optional(),
  lockout: z
    .object({
      /** Consecutive wrong passwords (or birth dates) that lock the account for a while. */
      maxFailures: z.number().int().min(1).default(5),
      /** First lock length; each further lock doubles it (growing with repeats). */
      lockSeconds: z.number().int().min(1).default(300),
      lockGrowthFactor: z.number().min(1).default(2),
      /** After this many temporary locks the account stays locked until an administrator unlocks it. */
      locksBeforePermanent: z.number().int().min(1).default(3),
    })
    .default({ maxFailures: 5, lockSeconds: 300, lockGrowthFactor: 2, locksBeforePermanent: 3 }),
  loginRateLimit: z
    .object({
      /** Password attempts one client IP may make per window, across all user IDs. */
      perIp: z.number().int().min(1).default(100),
      windowSeconds: z.number().int().min(1).default(900),
    })
    .default({ perIp: 100, windowSeconds: 900 }),
  password: z
    .object({
      minLength: z.number().int().min(1).default(8),
      maxLength: z.number().int().min(1).default(64),
      /** Characters allowed besides ASCII letters and digits. */
      allowedSymbols: z.string().default('!"#$%&\'()*~`{+}<>?_^-¥@[;:],./|=\\'),
    })
    .default({ minLength: 8, maxLength: 64, allowedSymbols: '!"#$%&\'()*~`{+}<>?_^-¥@[;:],./|=\\' }),
  /** The second factors members may choose, as credential kinds ('email_otp' is read as 'email'). */
  authMethods: z
    .array(z.preprocess((v) => (v === 'email_otp' ? 'email' : v), z.enum(['passkey', 'totp', 'email'])))
    .min(1)
    .default(['passkey', 'totp', 'email']),
  passkeys: z
    .object({
      /**
       * A member with a passkey may log in with it alone from the login page (autofill or
       * 「生体認証でログイン」): a user-verified passkey is already two factors (NIST SP 800-63B-4 §2.2.1).
       */
      passkeyOnlyLogin: z.boolean().default(true),
    })
    .default({ passkeyOnlyLogin: true }),
  emailOtp: z
    .object({
      /** How long a mailed one-time code stays valid (10 minutes by default). */
      codeSeconds: z.number().int().min(60).max(3600).default(600),
      /** Wrong entries one code survives; every wrong entry also counts toward the account lockout. */
      maxAttempts: z.number().int().min(1).max(10).default(5),
      /** 「再送信」 waits this long after the previous mail. */
      resendCooldownSeconds: z.number().int().min(10).max(3600).default(60),
      /**
       * Codes mailed to one member per hour, first codes of new logins and resends alike: a ceiling on
       * the mail a password alone can trigger.
       */
      maxMailsPerHour: z.number().int().min(1).max(100).default(10),
    })
    .default({ codeSeconds: 600, maxAttempts: 5, resendCooldownSeconds: 60, maxMailsPerHour: 10 }),
  terms: z.object({
    version: z.string().min(1),
    /** Files in the society's folder (config/ for union.json), one per locale, plain text or simple paragraphs. */
    files: z.object({ ja: z.string(), en: z.string() }).default({ ja: 'terms/ja.txt', en: 'terms/en.txt' }),
  }),
  ttl: z
    .object({
      /** How long a login screen may wait before the member must start again. */
      interactionSeconds: z.number().int().min(60).default(1800),
      /** A session kept with ログイン状態の保存. */
      rememberedSessionSeconds: z
        .number()
        .int()
        .min(60)
        .default(14 * 24 * 3600),
      /** A session without it lives until the browser closes, at most this long. */
      sessionSeconds: z
        .number()
        .int()
        .min(60)
        .default(8 * 3600),
      accessTokenSeconds: z.number().int().min(60).default(600),
      idTokenSeconds: z.number().int().min(60).default(600),
      refreshTokenSeconds: z
        .number()
        .int()
        .min(60)
        .default(30 * 24 * 3600),
    })
    .default({
      interactionSeconds: 1800,
      rememberedSessionSeconds: 14 * 24 * 3600,
      sessionSeconds: 8 * 3600,
      accessTokenSeconds: 600,
      idTokenSeconds: 600,
      refreshTokenSeconds: 30 * 24 * 3600,
    }),
  account: z
    .object({
      /** A sensitive change in the account console asks for a login at most this old. */
      reauthSeconds: z.number().int().min(0).default(300),
    })
    .default({ reauthSeconds: 300 }),
  mail: z
    .object({
      /** FAQ Q19: verification, one-time codes, password reset and user-ID mails. */
      noReplyFrom: z.string().default('no-reply@kosmo-web.jp'),
      emailVerificationSeconds: z.number().int().min(60).default(1800),
      passwordResetSeconds: z.number().int().min(60).default(300),
    })
    .default({ noReplyFrom: 'no-reply@kosmo-web.jp', emailVerificationSeconds: 1800, passwordResetSeconds: 300 }),
});

export type UnionPolicy = z.infer<typeof unionSchema>;
