import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { timeStepAt, totpCodeAt } from '../../src/factors/totp/codes.js';
import { BrowserClient, findForm, type Page } from '../support/browser-client.js';
import type { CodeSink } from './code-sink.js';
import { BENCH_CLIENT, BENCH_PASSWORD, benchEmailAddress, benchEmailUserId, benchTotpUserId, TOTP_SECRETS_FILE } from './shared.js';

export interface LoadResult {
  /** Operations completed inside the measured window. */
  completed: number;
  seconds: number;
  perSecond: number;
  errors: number;
  firstError?: string;
  /** What `meter` counted over the measured window (CPU seconds by process), when one was given. */
  cpu?: Record<string, number>;
}

/**
 * `concurrency` loops run `op` back to back for ramp + window; only operations that complete inside
 * the window count, so start-up and the tail (operations still in flight at the end) do not.
 */
export async function runLoad(
  op: (worker: number) => Promise<void>,
  options: { concurrency: number; rampMs: number; windowMs: number; meter?: () => Record<string, number> },
): Promise<LoadResult> {
  const start = performance.now();
  // The meter is read when the window opens and when it closes.
  let atStart: Record<string, number> | undefined;
  let atEnd: Record<string, number> | undefined;
  const timers = options.meter
    ? [setTimeout(() => (atStart = options.meter!()), options.rampMs), setTimeout(() => (atEnd = options.meter!()), options.rampMs + options.windowMs)]
    : [];
  const windowStart = start + options.rampMs;
  const windowEnd = windowStart + options.windowMs;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async (w: number) => {
    while (performance.now() < windowEnd) {
      try {
        await op(w);
        const now = performance.now();
        if (now >= windowStart && now < windowEnd) completed++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        if (errors > 20) return;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  for (const t of timers) clearTimeout(t);
  const seconds = options.windowMs / 1000;
  const cpu = atStart && atEnd ? Object.fromEntries(Object.keys(atEnd).map((k) => [k, atEnd![k]! - (atStart![k] ?? 0)])) : undefined;
  return { completed, seconds, perSecond: completed / seconds, errors, firstError, cpu };
}

/** `count` operations by `concurrency` loops (a warm-up that must not run out of codes or mails). */
export async function runCount(op: () => Promise<void>, count: number, concurrency: number): Promise<LoadResult> {
  const start = performance.now();
  let started = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (started < count && errors <= 20) {
      started++;
      try {
        await op();
        completed++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { completed, seconds, perSecond: completed / seconds, errors, firstError };
}

export interface Endpoints {
  authorization: string;
  token: string;
}

export async function discover(issuer: string): Promise<Endpoints> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery at ${issuer}: ${response.status}`);
  const doc = (await response.json()) as { authorization_endpoint: string; token_endpoint: string };
  return { authorization: doc.authorization_endpoint, token: doc.token_endpoint };
}

export interface TokenSet {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
}

const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(BENCH_CLIENT.id)}:${encodeURIComponent(BENCH_CLIENT.secret)}`).toString('base64')}`;

/** One POST to the token endpoint with client_secret_basic. */
export async function tokenRequest(endpoints: Endpoints, params: Record<string, string>): Promise<TokenSet> {
  const response = await fetch(endpoints.token, {
    method: 'POST',
    headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params).toString(),
  });
  const body = (await response.json()) as TokenSet & { error?: string; error_description?: string };
  if (!response.ok) throw new Error(`token endpoint ${response.status}: ${body.error} ${body.error_description ?? ''}`);
  return body;
}

const atCallback = (url: string) => url.startsWith(BENCH_CLIENT.redirect);

/**
 * One complete login through the authorization endpoint, with `fillForms` answering each page the
 * provider shows until the browser is sent to the portal's callback; then the code for tokens.
 */
/**
 * `prompt=consent` only for the bare provider: it drops offline_access (no refresh token) without
 * it, while kosmo-idp issues session-bound refresh tokens to its portals on the plain request.
 */
export async function codeFlowLogin(
  endpoints: Endpoints,
  fillForms: (page: Page, browser: BrowserClient) => Promise<Page>,
  extra: Record<string, string> = {},
): Promise<TokenSet> {
  const browser = new BrowserClient();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const url = `${endpoints.authorization}?${new URLSearchParams({
    client_id: BENCH_CLIENT.id,
    response_type: 'code',
    redirect_uri: BENCH_CLIENT.redirect,
    scope: BENCH_CLIENT.scope,
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  })}`;
  let page = await browser.go(url, { stopAt: atCallback });
  for (let i = 0; i < 4 && !atCallback(page.url); i++) page = await fillForms(page, browser);
  if (!atCallback(page.url)) throw new Error(`login did not reach the callback: ${page.status} ${page.url}`);
  const callback = new URL(page.url);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error(`callback without code: ${page.url}`);
  const tokens = await tokenRequest(endpoints, { grant_type: 'authorization_code', code, redirect_uri: BENCH_CLIENT.redirect, code_verifier: verifier });
  if (!tokens.id_token || !tokens.refresh_token)
    throw new Error(`code exchange without id_token or refresh_token: ${JSON.stringify({ ...tokens, access_token: undefined, id_token: undefined })}`);
  return tokens;
}

/** kosmo-idp: the login page's user ID + password form, then straight back to the portal. */
export const kosmoPasswordForm =
  (userId: string, password: string) =>
  async (page: Page, browser: BrowserClient): Promise<Page> => {
    if (page.status !== 200) throw new Error(`unexpected page ${page.status} at ${page.url}`);
    return browser.submit(page, '/login', { user_id: userId, password }, { stopAt: atCallback });
  };

/**
 * kosmo-idp with a TOTP app: the password, then ワンタイムパスワードの入力 with the code the app
 * shows now (`code()` is asked only when the page asks for it).
 */
export const kosmoTotpForms =
  (userId: string, password: string, code: () => Promise<string>) =>
  async (page: Page, browser: BrowserClient): Promise<Page> => {
    if (page.status !== 200) throw new Error(`unexpected page ${page.status} at ${page.url}`);
    if (/\/factor$/.test(new URL(page.url).pathname)) return browser.submit(page, '/factor', { code: await code() }, { stopAt: atCallback });
    return browser.submit(page, '/login', { user_id: userId, password }, { stopAt: atCallback });
  };

/**
 * (d) Complete TOTP logins over the members the kosmo-idp child set up (their secrets are in
 * `dir`/TOTP_SECRETS_FILE): each member's app shows the code of the current step (or the next,
 * accepted as drift); a member whose free steps are used up in this 30 s is skipped for another.
 */
export function totpLoginOp(endpoints: Endpoints, dir: string): () => Promise<TokenSet> {
  const secrets = JSON.parse(readFileSync(path.join(dir, TOTP_SECRETS_FILE), 'utf8')) as string[];
  const lastStep = secrets.map(() => timeStepAt(Date.now() / 1000));
  let next = 0;
  return async () => {
    for (let tries = 0; tries < secrets.length; tries++) {
      const i = next++ % secrets.length;
      const step = Math.max(lastStep[i]! + 1, timeStepAt(Date.now() / 1000));
      if (step > timeStepAt(Date.now() / 1000) + 1) continue;
      lastStep[i] = step;
      return codeFlowLogin(
        endpoints,
        kosmoTotpForms(benchTotpUserId(i), BENCH_PASSWORD, () => totpCodeAt(secrets[i]!, step * 30)),
      );
    }
    throw new Error('every TOTP member has used its codes for this step');
  };
}

/**
 * (e) Complete logins with the code mailed to the member: the password, then 認証コードの入力 with
 * the code from the mail the bench's SMTP server received for that member. Members take turns, so
 * none has two logins at once, nor more mails an hour than the policy allows.
 */
export function emailLoginOp(endpoints: Endpoints, mail: CodeSink, members: number): () => Promise<TokenSet> {
  let next = 0;
  return async () => {
    const i = next++ % members;
    const address = benchEmailAddress(i);
    return codeFlowLogin(endpoints, async (page, browser) => {
      if (page.status !== 200) throw new Error(`unexpected page ${page.status} at ${page.url}`);
      if (!/\/factor$/.test(new URL(page.url).pathname))
        return browser.submit(page, '/login', { user_id: benchEmailUserId(i), password: BENCH_PASSWORD }, { stopAt: atCallback });
      return browser.submit(page, '/factor', { code: await mail.nextCode(address) }, { stopAt: atCallback });
    });
  };
}

/** Bare oidc-provider: its development login form, then its consent form. */
export const devInteractionForms =
  (login: string) =>
  async (page: Page, browser: BrowserClient): Promise<Page> => {
    if (page.status !== 200) throw new Error(`unexpected page ${page.status} at ${page.url}`);
    const form = findForm(page.html, '/interaction/');
    const fields: Record<string, string> = form.hidden.prompt === 'login' ? { login, password: 'any' } : {};
    return browser.submit(page, '/interaction/', fields, { stopAt: atCallback });
  };

/**
 * One refresh-token chain per worker, each from a login of its own (a new grant). Every refresh
 * measurement starts from new chains on both servers: the bare provider's in-memory adapter keeps all
 * of a grant's tokens in one index that it walks on every write, so a chain carried over from earlier
 * rounds makes it slower round after round (1230/s falling to 730/s over 36 s in one test), which
 * flattered the ratio.
 */
export async function newChains(count: number, login: () => Promise<TokenSet>): Promise<string[]> {
  const tokens = await Promise.all(Array.from({ length: count }, login));
  return tokens.map((t) => {
    if (!t.refresh_token) throw new Error('a login without a refresh token');
    return t.refresh_token;
  });
}

/** Refresh-token chains, one per worker: each grant rotates the token, the next uses the new one. */
export function refreshOp(endpoints: Endpoints, chains: string[]) {
  return async (worker: number) => {
    const tokens = await tokenRequest(endpoints, { grant_type: 'refresh_token', refresh_token: chains[worker]! });
    if (!tokens.refresh_token || !tokens.access_token || !tokens.id_token) throw new Error('refresh without rotated token, access token or id_token');
    chains[worker] = tokens.refresh_token;
  };
}
