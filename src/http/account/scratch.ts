import type { Context } from 'koa';
import type { FlowScratch } from '../../flow/host.js';
import { openSecret, sealSecret, type SecretsKeys } from '../../secrets.js';

const COOKIE = 'kosmo.account.scratch';

/**
 * The console's scratch storage (a factor setup in progress, a change waiting for re-authentication):
 * a cookie sealed with SECRETS_KEY (AES-GCM, bound to the member), so secrets in it stay secret.
 * One sealed under a key no longer configured reads as empty, like a tampered one.
 */
export function consoleScratch(ctx: Context, secrets: SecretsKeys, memberId: string, secure: boolean): FlowScratch {
  const context = `account-scratch:${memberId}`;
  let values: Record<string, unknown> | undefined;
  const read = (): Record<string, unknown> => {
    if (values) return values;
    const sealed = ctx.cookies.get(ctx.state.cookieName(COOKIE));
    try {
      values = sealed ? (JSON.parse(openSecret(secrets, sealed, context)) as Record<string, unknown>) : {};
    } catch {
      values = {};
    }
    return values;
  };
  return {
    get: <T>(key: string) => read()[key] as T | undefined,
    async set(key, value) {
      const next = { ...read(), [key]: value };
      if (value === undefined) delete next[key];
      values = next;
      const empty = Object.keys(next).length === 0;
      ctx.cookies.set(ctx.state.cookieName(COOKIE), empty ? null : sealSecret(secrets, JSON.stringify(next), context), {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/account',
        maxAge: 30 * 60 * 1000,
      });
    },
  };
}
