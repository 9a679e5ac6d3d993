import * as oidc from 'openid-client';

/** Discovery failed: the provider is down or not started yet. Shown as "try again later". */
export class ProviderUnreachableError extends Error {}

/**
 * The relying party's view of the provider, discovered on first use and again after a failure,
 * so the portal may start before the provider does.
 */
export class ProviderClient {
  private configuration?: Promise<oidc.Configuration>;

  constructor(
    private readonly issuer: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  get(): Promise<oidc.Configuration> {
    this.configuration ??= this.discover();
    return this.configuration;
  }

  private async discover(): Promise<oidc.Configuration> {
    // Plain http is only ever a development provider on localhost.
    const insecure = this.issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : undefined;
    try {
      return await oidc.discovery(new URL(this.issuer), this.clientId, undefined, oidc.ClientSecretBasic(this.clientSecret), insecure);
    } catch (err) {
      this.configuration = undefined;
      throw new ProviderUnreachableError(`discovery of ${this.issuer} failed`, { cause: err });
    }
  }
}
