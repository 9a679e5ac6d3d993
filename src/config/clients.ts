import { z } from 'zod';
import { addIssues, expandPlaceholders, type Problems, readJson, unknownPlaceholder } from './problems.js';

/** A portal registered by the administrators in a society's clients.json. */
export const clientSchema = z
  .object({
    client_id: z.string().min(1),
    client_name: z.string().min(1).optional(),
    /** A confidential client has a secret (inline, or the name of an environment variable). */
    client_secret: z.string().min(16).optional(),
    client_secret_env: z.string().min(1).optional(),
    /** A public client (SPA, native) authenticates with PKCE alone. */
    public: z.boolean().default(false),
    redirect_uris: z.array(z.url()).min(1),
    post_logout_redirect_uris: z.array(z.url()).default([]),
    initiate_login_uri: z.url().optional(),
    scope: z.string().default('openid offline_access profile email'),
    /** Where the portal receives a logout token when the member's session with it ends (back-channel logout). */
    backchannel_logout_uri: z.url().optional(),
    /** The logout token then carries the session's `sid`. */
    backchannel_logout_session_required: z.boolean().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const hasSecret = Boolean(c.client_secret || c.client_secret_env);
    if (c.public && hasSecret) ctx.addIssue({ code: 'custom', path: ['public'], message: 'a public client must not have a secret' });
    if (!c.public && !hasSecret)
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'required for a confidential client (or set "public": true)' });
  });

export type ClientEntry = z.infer<typeof clientSchema>;
export const clientsFileSchema = z.array(z.unknown());

export interface ResolvedClient extends Omit<ClientEntry, 'client_secret_env'> {
  client_secret?: string;
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
    let secret = c.client_secret;
    if (c.client_secret_env) {
      secret = env[c.client_secret_env];
      if (!secret) problems.add(`${where}: field "client_secret_env": environment variable ${c.client_secret_env} is not set`);
    }
    if (problems.count > before) return;
    const { client_secret_env: _unused, ...rest } = c;
    clients.push({ ...rest, client_secret: secret });
  });
  return clients;
}
