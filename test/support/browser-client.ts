/**
 * A minimal browser for HTTP tests: a cookie jar (name + path, expiry honoured), manual redirect
 * following, and helpers to read and submit the forms our pages render.
 */
interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires?: number;
}

export interface Page {
  status: number;
  url: string;
  html: string;
  headers: Headers;
}

/** What a real browser sends when it follows a link or posts a form: it asks for HTML. */
const BROWSER_HEADERS = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

export class BrowserClient {
  private cookies: StoredCookie[] = [];
  private readonly headers: Record<string, string>;
  constructor(headers: Record<string, string> = {}) {
    this.headers = { ...BROWSER_HEADERS, ...headers };
  }

  private cookieHeader(url: URL): string {
    const now = Date.now();
    this.cookies = this.cookies.filter((c) => c.expires === undefined || c.expires > now);
    return this.cookies
      .filter((c) => url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      this.setCookieHeaders.push(line);
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const cookie: StoredCookie = { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), path: '/' };
      for (const attr of attrs) {
        const [k, v] = attr.split('=');
        const key = k!.toLowerCase();
        if (key === 'path') cookie.path = v ?? '/';
        if (key === 'expires' && v) cookie.expires = Date.parse(attr.slice(8));
        if (key === 'max-age' && v) cookie.expires = Date.now() + Number(v) * 1000;
      }
      if (!attrs.some((a) => a.toLowerCase().startsWith('path='))) {
        cookie.path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      }
      this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.path === cookie.path));
      // A cookie set to expire in the past (often the epoch, 0) is a deletion.
      if (cookie.expires === undefined || cookie.expires > Date.now()) this.cookies.push(cookie);
    }
  }

  /** Every Set-Cookie header this browser has received, in order, to check their attributes. */
  readonly setCookieHeaders: string[] = [];

  cookieNames(): string[] {
    return this.cookies.map((c) => c.name);
  }
  cookie(name: string): StoredCookie | undefined {
    return this.cookies.find((c) => c.name === name);
  }
  dropCookies(predicate: (name: string) => boolean): void {
    this.cookies = this.cookies.filter((c) => !predicate(c.name));
  }

  /** One request, no redirect following. */
  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | Uint8Array | undefined;
    if (init.body !== undefined) {
      body = init.body;
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(target, {
      method: init.method ?? (init.form || init.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: body as BodyInit | undefined,
      redirect: 'manual',
    });
    this.store(target, response);
    return response;
  }

  /** Follows redirects until a page is reached or `stopAt` says to stop (e.g. at a portal callback). */
  async go(url: string, init: { form?: Record<string, string>; stopAt?: (url: string) => boolean } = {}): Promise<Page> {
    let response = await this.request(url, { form: init.form });
    let current = url;
    for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops++) {
      const next = new URL(response.headers.get('location')!, current).toString();
      current = next;
      if (init.stopAt?.(next)) return { status: response.status, url: next, html: '', headers: response.headers };
      response = await this.request(next);
    }
    return { status: response.status, url: current, html: await response.text(), headers: response.headers };
  }

  /** Submits the form whose action contains `actionPart`, with the page's hidden fields plus `fields`. */
  async submit(page: Page, actionPart: string, fields: Record<string, string>, init: { stopAt?: (url: string) => boolean } = {}): Promise<Page> {
    const form = findForm(page.html, actionPart);
    const action = new URL(decodeEntities(form.action), page.url).toString();
    return this.go(action, { form: { ...form.hidden, ...fields }, stopAt: init.stopAt });
  }
}

export function decodeEntities(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

export function findForm(html: string, actionPart: string): { action: string; hidden: Record<string, string> } {
  const forms = [...html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  const match = forms.find((f) => f[1]!.includes(actionPart));
  if (!match) throw new Error(`no form with action containing ${actionPart}; forms: ${forms.map((f) => f[1]).join(', ')}`);
  const hidden: Record<string, string> = {};
  for (const input of match[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name) hidden[name] = decodeEntities(value);
  }
  return { action: match[1]!, hidden };
}

/** The texts of the error list a page shows. */
export function pageErrors(html: string): string[] {
  const block = /<div class="alert alert--error"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
  // One error is a paragraph, several a list.
  return [...block.matchAll(/<(?:li|p)>([\s\S]*?)<\/(?:li|p)>/g)].map((m) => decodeEntities(m[1]!.trim()));
}

/** The text of the information notice a page shows (role=status), or undefined. */
export function pageNotice(html: string): string | undefined {
  const block = /<div class="alert alert--info" role="status"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1];
  return block === undefined ? undefined : decodeEntities(block.trim());
}

/** A page without what differs per request (interaction uid, CSRF token, typed user ID), to compare two answers. */
export function withoutRequestDetails(html: string): string {
  return html
    .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID')
    .replace(/value="[A-Za-z0-9_-]{30,}"/g, 'value="TOKEN"')
    .replace(/value="[^"]*" autocomplete="username( webauthn)?"/, 'value="ID" autocomplete="username$1"')
    .replace(/data-options="[^"]*"/g, 'data-options="OPTIONS"');
}
