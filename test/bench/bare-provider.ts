/**
 * Child process of the benchmark: a bare oidc-provider (same version as kosmo-idp), default
 * in-memory adapter, default development keys and interactions, one client, a fixed account.
 * The yardstick for the refresh-token grant.
 */
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { BENCH_CLIENT, resetPeakMemory, type ChildMessage } from './shared.js';

const port = Number(process.env.BENCH_PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: BENCH_CLIENT.id,
      client_secret: BENCH_CLIENT.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [BENCH_CLIENT.redirect],
      scope: BENCH_CLIENT.scope,
    },
  ],
  // The same claims and scopes kosmo-idp serves, so both sign comparable ID tokens.
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'birthdate', 'locale', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  // As kosmo-idp: the scopes' claims go into the ID token too, so both sign the same token.
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: 'ベンチ 太郎', preferred_username: 'bench000001', birthdate: '1980-12-01', email: 'bench@example.jp', email_verified: true };
      },
    };
  },
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: true,
});

const server = createServer(provider.callback());
await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
resetPeakMemory();
process.send?.({ type: 'ready', url: issuer } satisfies ChildMessage);
