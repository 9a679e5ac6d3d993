import { describe, it, expect, beforeAll } from '@jest/globals';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { BACKCHANNEL_LOGOUT_EVENT, verifyLogoutToken } from '../../src/demo-portal/backchannel-logout.js';

/** The demo portal's checks of a logout token (OpenID Connect Back-Channel Logout 1.0, 2.6). */
describe("the demo portal's logout token checks", () => {
  const issuer = 'http://localhost:3000/kosmo';
  const clientId = 'kosmo-demo-portal';
  let jwks: JWTVerifyGetKey;
  let sign: (claims: JWTPayload, header?: Record<string, unknown>) => Promise<string>;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
    sign = (claims, header = {}) =>
      new SignJWT({ iss: issuer, aud: clientId, jti: crypto.randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'logout+jwt', ...header })
        .setIssuedAt(claims.iat)
        .setExpirationTime('2m')
        .sign(privateKey);
  });
  const check = (token: string) => verifyLogoutToken(token, { issuer, clientId, jwks });
  const events = { [BACKCHANNEL_LOGOUT_EVENT]: {} };

  it('accepts a token of the issuer for this portal with the logout event and sub or sid', async () => {
    expect(await check(await sign({ sub: 'member-1', sid: 's1', events }))).toMatchObject({ ok: true, claims: { sub: 'member-1', sid: 's1' } });
    expect(await check(await sign({ sid: 's1', events }))).toMatchObject({ ok: true });
  });

  it('refuses a nonce, a missing event, neither sub nor sid, another audience, another type', async () => {
    expect(await check(await sign({ sub: 'm', events, nonce: 'n' }))).toMatchObject({ ok: false });
    expect(await check(await sign({ sub: 'm' }))).toMatchObject({ ok: false });
    expect(await check(await sign({ sub: 'm', events: { other: {} } }))).toMatchObject({ ok: false, reason: 'no logout event' });
    expect(await check(await sign({ events }))).toMatchObject({ ok: false, reason: 'neither sub nor sid' });
    expect(await check(await sign({ sub: 'm', events, aud: 'another-portal' }))).toMatchObject({ ok: false });
    expect(await check(await sign({ sub: 'm', events }, { typ: 'JWT' }))).toMatchObject({ ok: false });
    expect(await check(await sign({ sub: 'm', events, iss: 'http://localhost:3000/sakura' }))).toMatchObject({ ok: false });
    expect(await check(await sign({ sub: 'm', events, iat: Math.floor(Date.now() / 1000) - 3600 }))).toMatchObject({ ok: false });
  });

  it('refuses a token signed by another key', async () => {
    const other = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'm', events })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'logout+jwt' })
      .setIssuedAt()
      .setIssuer(issuer)
      .setAudience(clientId)
      .setJti('j')
      .sign(other.privateKey);
    expect(await check(forged)).toMatchObject({ ok: false });
  });
});
