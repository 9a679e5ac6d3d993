import * as oidc from 'openid-client';
import type { DemoPortalOptions } from './options.js';

/** Discovery failed: the provider is down or not started yet. Shown as "try again later". */
export class ProviderUnreachableError extends Error {}

/**
 * The relying party's view of the provider, discovered on first use and again after a failure,
 * so the portal may start before the provider does. A FAPI 2.0 portal authenticates with its key
 * (private_key_jwt) and expects ES256 ID tokens; the others with their secret.
 */
export class ProviderClient {
  private configuration?: Promise<oidc.Configuration>;

  constructor(private readonly options: Pick<DemoPortalOptions, 'issuer' | 'clientId' | 'clientSecret' | 'fapi'>) {}

  get fapi(): boolean {
    return Boolean(this.options.fapi);
  }

  get(): Promise<oidc.Configuration> {
    this.configuration ??= this.discover();
    return this.configuration;
  }

  /** A new DPoP key for a member's login (FAPI 2.0 only); it stays with the session its tokens belong to. */
  async newDpopHandle(): Promise<oidc.DPoPHandle | undefined> {
    if (!this.options.fapi) return undefined;
    return oidc.getDPoPHandle(await this.get(), await oidc.randomDPoPKeyPair('ES256'));
  }

  private async discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret, fapi } = this.options;
    // Plain http is only ever a development provider on localhost.
    const insecure = issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : undefined;
    const auth = fapi ? oidc.PrivateKeyJwt({ key: fapi.key.privateKey, kid: fapi.key.publicJwk.kid }) : oidc.ClientSecretBasic(clientSecret ?? '');
    try {
      return await oidc.discovery(new URL(issuer), clientId, fapi ? { id_token_signed_response_alg: 'ES256' } : undefined, auth, insecure);
    } catch (err) {
      this.configuration = undefined;
      throw new ProviderUnreachableError(`discovery of ${issuer} failed`, { cause: err });
    }
  }
}
