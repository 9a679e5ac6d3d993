import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, type TestIdp, TEST_CLIENT } from '../support/idp.js';

/** Portals authenticate with client_secret_basic, private_key_jwt (test/http/fapi.test.ts), or as public clients with PKCE: nothing else is offered or accepted. */
describe('client authentication at the token endpoint', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body).toString(),
    });

  it('discovery advertises only client_secret_basic, private_key_jwt and none', async () => {
    const discovery = (await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'private_key_jwt', 'none']);
    for (const key of ['introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
      if (key in discovery) expect(discovery[key]).toEqual(['client_secret_basic', 'private_key_jwt', 'none']);
    }
  });

  it('refuses client_secret_post with 401 invalid_client, and authenticates the same secret sent as Basic', async () => {
    const post = await token({ grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: TEST_CLIENT.id, client_secret: TEST_CLIENT.secret });
    expect(post.status).toBe(401);
    expect(((await post.json()) as { error: string }).error).toBe('invalid_client');
    const basic = await token(
      { grant_type: 'refresh_token', refresh_token: 'not-a-token' },
      {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(TEST_CLIENT.id)}:${encodeURIComponent(TEST_CLIENT.secret)}`).toString('base64')}`,
      },
    );
    expect(basic.status).toBe(400);
    expect(((await basic.json()) as { error: string }).error).toBe('invalid_grant');
  });
});
