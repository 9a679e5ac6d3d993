import { z } from 'zod';

/** A portal registered by the administrators in config/clients.json. */
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
