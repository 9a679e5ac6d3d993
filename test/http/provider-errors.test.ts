import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { request } from 'node:http';
import { createLogger } from '../../src/logger.js';
import { asDatabaseOwner } from '../support/database.js';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, TEST_CLIENT, type TestIdp } from '../support/idp.js';

/** A raw HTTP GET with any Host header (fetch does not let a test choose it). */
function getWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe("the provider's own endpoints", () => {
  let t: TestIdp;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const log = createLogger('info', {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
    t = await startTestIdp({ log, env: { TRUST_PROXY: 'true' } });
    await t.addMember({ userId: 'perr00001' }, { password: 'Perr-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  // Issue 11, item 6; issue 19: a Host (or, behind a trusted proxy, an X-Forwarded-Host) that names no
  // society's issuer reaches no provider at all, and the issuer's own document names only the issuer.
  it('builds the discovery document from the issuer, and a forged Host or X-Forwarded-Host reaches no society', async () => {
    for (const headers of [{}, { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }] as Record<string, string>[]) {
      const { status, body } = await getWithHost(`${t.url}/.well-known/openid-configuration`, 'evil.example', headers);
      expect(status).toBe(404);
      expect(body).not.toContain('evil.example');
    }
    const { status, body } = await getWithHost(`${t.url}/.well-known/openid-configuration`, new URL(t.url).host, {});
    expect(status).toBe(200);
    const d = JSON.parse(body) as Record<string, string>;
    expect(d.issuer).toBe(t.url);
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'end_session_endpoint',
      'revocation_endpoint',
      'introspection_endpoint',
    ]) {
      expect({ key, url: d[key]!.startsWith(`${t.url}/`) }).toEqual({ key, url: true });
    }
  });

  // Issue 11, item 12.
  it('logs a server error inside the provider once, with its cause', async () => {
    const { request: authRequest, after } = await loginThroughPortal(t.url, new BrowserClient(), 'perr00001', 'Perr-pass-1');
    expect(isPortal(after.url)).toBe(true);
    const code = new URL(after.url).searchParams.get('code')!;
    lines.length = 0;
    // As the owner: the application's role may not change a table.
    const rename = (from: string, to: string) => asDatabaseOwner(t.databaseUrl, (owner) => owner.query(`alter table ${from} rename to ${to}`));
    await rename('oidc_payload', 'oidc_payload_away');
    try {
      const response = await fetch(`${t.url}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${TEST_CLIENT.id}:${TEST_CLIENT.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: TEST_CLIENT.redirect,
          code_verifier: authRequest.verifier,
        }).toString(),
      });
      expect(response.status).toBe(500);
    } finally {
      await rename('oidc_payload_away', 'oidc_payload');
    }
    const errors = lines.filter((l) => (l.level as number) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: '/token', route: 'token', msg: 'oidc-provider server error' });
    expect(JSON.stringify(errors[0]!.err)).toContain('oidc_payload');
  });
});
