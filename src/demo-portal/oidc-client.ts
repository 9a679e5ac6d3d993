import * as oidc from 'openid-client';

/**
 * The relying party's view of the provider: discovered lazily (and again after a failure), so the
 * portal can start before the provider does.
 */
export class ProviderClient {
  private configuration?: Promise<oidc.Configuration>;

  constructor(private readonly issuer: string, private readonly clientId: string, private readonly clientSecret: string) {}

  get(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      const insecure = this.issuer.startsWith('http://');
      this.configuration = oidc.discovery(new URL(this.issuer), this.clientId, undefined, oidc.ClientSecretBasic(this.clientSecret), insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
      this.configuration.catch(() => { this.configuration = undefined; });
    }
    return this.configuration;
  }
}
