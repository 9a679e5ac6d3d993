import { expect } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

/** One logout token a portal received, as posted. */
export interface ReceivedLogout {
  token: string;
  contentType: string;
  at: number;
}

/**
 * A portal's back-channel logout endpoint for tests: a real HTTP server on localhost that records
 * every posted `logout_token`. `answer` sets its reply (200 by default; 'hold' keeps the request
 * open until `release()`).
 */
export async function startLogoutReceiver(port = 0) {
  const received: ReceivedLogout[] = [];
  const waiters: (() => void)[] = [];
  const held: ServerResponse[] = [];
  let answer: number | 'hold' = 200;
  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    received.push({ token: new URLSearchParams(body).get('logout_token') ?? '', contentType: req.headers['content-type'] ?? '', at: Date.now() });
    for (const wake of waiters.splice(0)) wake();
    if (answer === 'hold') {
      held.push(res);
      return;
    }
    res.writeHead(answer).end();
  };
  const server = createServer((req, res) => void onRequest(req, res));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://localhost:${actual}/backchannel-logout`,
    port: actual,
    received,
    answer(status: number | 'hold') {
      answer = status;
    },
    release(status = 200) {
      for (const res of held.splice(0)) res.writeHead(status).end();
    },
    clear() {
      received.splice(0);
    },
    /** Waits until `count` tokens (in all) have arrived; fails after `ms`. */
    async waitFor(count: number, ms = 15_000): Promise<ReceivedLogout[]> {
      const until = Date.now() + ms;
      while (received.length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} logout tokens, received ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
      return received.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type LogoutReceiver = Awaited<ReturnType<typeof startLogoutReceiver>>;

/**
 * Verifies a logout token as a portal must (OpenID Connect Back-Channel Logout 1.0, 2.6) against the
 * society's published keys (its discovery document's jwks_uri): the claims.
 */
export async function verifiedLogoutToken(token: string, issuer: string, clientId: string): Promise<JWTPayload & { sid?: string; events?: unknown }> {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string; issuer: string };
  expect(discovery.issuer).toBe(issuer);
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer,
    audience: clientId,
    typ: 'logout+jwt',
    maxTokenAge: '2 minutes',
  });
  expect(decodeProtectedHeader(token).kid).toBe(protectedHeader.kid);
  expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
  expect(typeof payload.iat).toBe('number');
  expect(typeof payload.jti).toBe('string');
  expect(typeof payload.sub).toBe('string');
  expect(payload).not.toHaveProperty('nonce');
  return payload as JWTPayload & { sid?: string };
}
