import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { addIssues, expandPlaceholders, type Problems, readJson, unknownPlaceholder } from './problems.js';

/** How a portal authenticates at the token endpoint (RFC 7591 `token_endpoint_auth_method`). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'private_key_jwt', 'none'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The ID token algorithms our signing keys offer (src/oidc/keys.ts: one RSA and one P-256 key). */
export const ID_TOKEN_ALGS = ['RS256', 'ES256'] as const;

/**
 * `"profile": "fapi2"`: the portal follows the FAPI 2.0 Security Profile. What it implies (and what
 * may not be set otherwise): PAR, private_key_jwt, DPoP-bound access tokens, an ID token signed with
 * ES256 (FAPI 2.0 allows PS256, ES256 and EdDSA, not RS256); PKCE S256 and `iss` in the authorization
 * response come with the provider's FAPI 2.0 profile (src/oidc/provider.ts).
 */
export const FAPI2_IMPLIES = {
  token_endpoint_auth_method: 'private_key_jwt',
  require_pushed_authorization_requests: true,
  dpop_bound_access_tokens: true,
  id_token_signed_response_alg: 'ES256',
} as const;

const jwkSchema = z.looseObject({ kty: z.string().min(1) });

/**
 * A portal registered by the administrators in a society's clients.json, in the standard client
 * metadata names (RFC 7591, OpenID Connect Registration, RFC 9126, RFC 9449, Back-Channel Logout
 * 1.0). Unknown names stop the start.
 */
export const clientSchema = z
  .object({
    client_id: z.string().min(1),
    client_name: z.string().min(1).optional(),
    /** A confidential client's secret (inline, or the name of an environment variable), for client_secret_basic. */
    client_secret: z.string().min(16).optional(),
    client_secret_env: z.string().min(1).optional(),
    token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS).optional(),
    /** Shorthand of `"token_endpoint_auth_method": "none"`: a public client (SPA, native) authenticates with PKCE alone. */
    public: z.boolean().optional(),
    /** The portal's public keys for private_key_jwt: inline, or where it publishes them. */
    jwks: z
      .object({ keys: z.array(jwkSchema).min(1) })
      .strict()
      .optional(),
    jwks_uri: z.url({ protocol: /^https?$/ }).optional(),
    require_pushed_authorization_requests: z.boolean().optional(),
    dpop_bound_access_tokens: z.boolean().optional(),
    id_token_signed_response_alg: z.enum(ID_TOKEN_ALGS).optional(),
    /** Where the portal receives a logout token when the member's session with it ends (back-channel logout). */
    backchannel_logout_uri: z.url({ protocol: /^https?$/ }).optional(),
    /** The logout token then carries the session's `sid`. */
    backchannel_logout_session_required: z.boolean().optional(),
    profile: z.enum(['fapi2']).optional(),
    redirect_uris: z.array(z.url()).min(1),
    post_logout_redirect_uris: z.array(z.url()).default([]),
    initiate_login_uri: z.url().optional(),
    scope: z.string().default('openid offline_access profile email'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const problem = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    const hasSecret = Boolean(c.client_secret || c.client_secret_env);
    const secretField = c.client_secret ? 'client_secret' : 'client_secret_env';
    if (c.public !== undefined && c.token_endpoint_auth_method !== undefined && c.public !== (c.token_endpoint_auth_method === 'none'))
      problem('public', `contradicts "token_endpoint_auth_method": "${c.token_endpoint_auth_method}"`);
    if (c.profile === 'fapi2') {
      for (const [field, implied] of Object.entries(FAPI2_IMPLIES)) {
        const given = c[field as keyof typeof FAPI2_IMPLIES];
        if (given !== undefined && given !== implied) problem(field, `must be ${JSON.stringify(implied)} with "profile": "fapi2" (FAPI 2.0 Security Profile)`);
      }
      if (c.public) problem('public', 'a FAPI 2.0 portal is a confidential client (private_key_jwt)');
    }
    const method = authMethodOf(c);
    if (method === 'client_secret_basic' && !hasSecret)
      problem('client_secret', 'required for a confidential client (or set "token_endpoint_auth_method": "private_key_jwt" with its jwks, or "none")');
    if (method !== 'client_secret_basic' && hasSecret) problem(secretField, `must not be set with "token_endpoint_auth_method": "${method}"`);
    if (c.jwks && c.jwks_uri) problem('jwks_uri', 'give either "jwks" or "jwks_uri", not both');
    if (method === 'private_key_jwt' && !c.jwks && !c.jwks_uri)
      problem('jwks', 'required with "token_endpoint_auth_method": "private_key_jwt" (or "jwks_uri")');
    if (method !== 'private_key_jwt' && (c.jwks || c.jwks_uri))
      problem(c.jwks ? 'jwks' : 'jwks_uri', 'only used with "token_endpoint_auth_method": "private_key_jwt"');
    c.jwks?.keys.forEach((key, index) => {
      const problemOfKey = jwkProblem(key);
      if (problemOfKey) ctx.addIssue({ code: 'custom', path: ['jwks', 'keys', index], message: problemOfKey });
    });
    if (c.backchannel_logout_session_required && !c.backchannel_logout_uri) problem('backchannel_logout_session_required', 'needs "backchannel_logout_uri"');
  });

/** What is wrong with a portal's signing key, if anything: it must be a public EC, RSA or OKP key. */
function jwkProblem(key: Record<string, unknown>): string | undefined {
  if ('d' in key || 'k' in key || key.kty === 'oct') return 'a private or symmetric key: register only the public key';
  if (key.use !== undefined && key.use !== 'sig') return 'a signing key ("use": "sig") is expected';
  try {
    const publicKey = createPublicKey({ key: key as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (!['ec', 'rsa', 'rsa-pss', 'ed25519'].includes(publicKey.asymmetricKeyType ?? ''))
      return `a ${publicKey.asymmetricKeyType} key cannot sign client assertions`;
  } catch (err) {
    return `not a usable public key (${(err as Error).message})`;
  }
  return undefined;
}

function authMethodOf(c: Pick<ClientEntry, 'token_endpoint_auth_method' | 'public' | 'profile'>): ClientAuthMethod {
  if (c.token_endpoint_auth_method) return c.token_endpoint_auth_method;
  if (c.profile === 'fapi2') return FAPI2_IMPLIES.token_endpoint_auth_method;
  return c.public ? 'none' : 'client_secret_basic';
}

export type ClientEntry = z.infer<typeof clientSchema>;
export const clientsFileSchema = z.array(z.unknown());

/** A registered portal, every implied value filled in (what src/oidc/provider.ts registers). */
export interface ResolvedClient
  extends Omit<
    ClientEntry,
    'client_secret_env' | 'public' | 'token_endpoint_auth_method' | 'require_pushed_authorization_requests' | 'dpop_bound_access_tokens'
  > {
  token_endpoint_auth_method: ClientAuthMethod;
  client_secret?: string;
  require_pushed_authorization_requests: boolean;
  dpop_bound_access_tokens: boolean;
}

/** The registered portal with what its profile implies filled in. */
export function resolveClient(c: ClientEntry, secret: string | undefined): ResolvedClient {
  const { client_secret_env: _env, public: _public, ...rest } = c;
  const fapi = c.profile === 'fapi2';
  return {
    ...rest,
    token_endpoint_auth_method: authMethodOf(c),
    client_secret: secret,
    require_pushed_authorization_requests: c.require_pushed_authorization_requests ?? fapi,
    dpop_bound_access_tokens: c.dpop_bound_access_tokens ?? fapi,
    id_token_signed_response_alg: c.id_token_signed_response_alg ?? (fapi ? FAPI2_IMPLIES.id_token_signed_response_alg : undefined),
  };
}

/**
 * The clients of one clients.json, with `${NAME}` placeholders expanded from `vars` and secrets read
 * from the environment. Every problem is recorded (one line each, naming the file, the client and
 * the field); the clients returned are the valid ones.
 */
export function loadClients(file: string, env: NodeJS.ProcessEnv, vars: Record<string, string>, problems: Problems): ResolvedClient[] {
  const json = readJson(file, problems);
  if (!json) return [];
  const raw = clientsFileSchema.safeParse(json.value);
  if (!raw.success) {
    problems.add(`${file}: must be a JSON array of clients`);
    return [];
  }
  const production = env.NODE_ENV === 'production';
  const seen = new Set<string>();
  const clients: ResolvedClient[] = [];
  raw.data.forEach((original, index) => {
    const id = typeof original === 'object' && original && 'client_id' in original ? String((original as { client_id: unknown }).client_id) : `#${index + 1}`;
    const where = `${file}: client "${id}"`;
    const before = problems.count;
    const entry = expandPlaceholders(original, vars, (name, field) => problems.add(`${where}: field "${field}": ${unknownPlaceholder(name, vars)}`));
    const parsed = clientSchema.safeParse(entry);
    if (!parsed.success) {
      addIssues(problems, where, parsed.error);
      return;
    }
    const c = parsed.data;
    if (seen.has(c.client_id)) problems.add(`${where}: field "client_id": duplicate client id`);
    seen.add(c.client_id);
    // Keys and logout tokens travel over these: never in clear text across a network in production
    // (a loopback address, like the demo portals', is still only called when PORTAL_PRIVATE_HOSTS names it).
    for (const field of ['jwks_uri', 'backchannel_logout_uri'] as const) {
      const uri = c[field] ? new URL(c[field]) : undefined;
      if (production && uri?.protocol === 'http:' && !LOOPBACK.has(uri.hostname))
        problems.add(`${where}: field "${field}": must be https:// in production (http:// only on localhost)`);
    }
    let secret = c.client_secret;
    if (c.client_secret_env) {
      secret = env[c.client_secret_env];
      if (!secret) problems.add(`${where}: field "client_secret_env": environment variable ${c.client_secret_env} is not set`);
    }
    if (problems.count > before) return;
    clients.push(resolveClient(c, secret));
  });
  return clients;
}

/** A portal registered from code (tests, the bench), checked as clients.json would be. Throws when invalid. */
export function registerClient(entry: z.input<typeof clientSchema>): ResolvedClient {
  const c = clientSchema.parse(entry);
  return resolveClient(c, c.client_secret);
}
