/**
 * Which society a request is for, from its issuer: a host of its own (`https://<id>.id.example.jp`)
 * or a path on a shared host (`https://id.example.jp/<id>`). The host a request names is its Host
 * header, or X-Forwarded-Host only when TRUST_PROXY says a proxy in front sets it (Koa's
 * `ctx.host` with `app.proxy`). A request that names no society's issuer is for none: the caller
 * answers a plain 404 that names no society, never another society's login.
 */
export interface IssuerPlace {
  /** Lowercase host and port as a request names it (`id.example.jp`, `localhost:3000`). */
  host: string;
  /** '' for an issuer at the host's root, else `/<segment>…` without a trailing slash. */
  prefix: string;
}

export function issuerPlace(issuer: string): IssuerPlace {
  const url = new URL(issuer);
  return { host: url.host.toLowerCase(), prefix: url.pathname.replace(/\/+$/, '') };
}

export interface Routed<T> {
  society: T;
  /** The issuer's path prefix ('' for a host of its own), to strip from the request's path. */
  prefix: string;
}

/**
 * A lookup from (host, path) to the society whose issuer covers it: the longest prefix on that host
 * that the path equals or continues with a `/` (so `/kosmo` never matches `/kosmonaut`).
 */
export class SocietyRoutes<T> {
  private readonly byHost = new Map<string, { prefix: string; society: T }[]>();

  constructor(entries: readonly { issuer: string; society: T }[]) {
    for (const { issuer, society } of entries) {
      const place = issuerPlace(issuer);
      const list = this.byHost.get(place.host) ?? [];
      list.push({ prefix: place.prefix, society });
      // Longest prefix first.
      list.sort((a, b) => b.prefix.length - a.prefix.length);
      this.byHost.set(place.host, list);
    }
  }

  resolve(host: string, path: string): Routed<T> | undefined {
    const list = this.byHost.get(host.toLowerCase());
    if (!list) return undefined;
    for (const entry of list) {
      if (entry.prefix === '' || path === entry.prefix || path.startsWith(`${entry.prefix}/`)) return { society: entry.society, prefix: entry.prefix };
    }
    return undefined;
  }
}
