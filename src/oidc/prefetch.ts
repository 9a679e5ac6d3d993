import Provider from 'oidc-provider';

/**
 * What one provider request has already read from PostgreSQL, so that it asks once, not three
 * times. When the token endpoint reads a code or refresh token, the same statement also reads the
 * grant, the session the token is bound to and the member (test/bench counts the statements);
 * `Grant.find`, `Session.findByUid` and `findAccount` later in that request are answered from here.
 * Keyed on the request's context (oidc-provider keeps it in an AsyncLocalStorage, `Provider.ctx`),
 * so it lives exactly as long as the request. Any write in the request forgets what was read.
 */
interface RequestMemory {
  /** `${model}:${id}` (Grant), `Session:uid:${uid}` or `Account:${id}`; null = read and not there. */
  rows: Map<string, unknown>;
  /** The refresh token this request consumes with its next write (see adapter.ts, refresh grants). */
  consumes?: string;
  /** Rows written later in this request, with the next write (see adapter.ts, refresh grants). */
  pending: unknown[];
}

const memory = new WeakMap<object, RequestMemory>();

function current(): RequestMemory | undefined {
  const ctx = Provider.ctx as object | undefined;
  if (!ctx) return undefined;
  let m = memory.get(ctx);
  if (!m) {
    m = { rows: new Map(), pending: [] };
    memory.set(ctx, m);
  }
  return m;
}

export function remember(key: string, value: unknown): void {
  current()?.rows.set(key, value ?? null);
}

/** `undefined` when not read in this request; `null` when read and absent. */
export function recall<T>(key: string): T | null | undefined {
  const m = current();
  return m?.rows.has(key) ? (m.rows.get(key) as T | null) : undefined;
}

export function forgetReads(): void {
  current()?.rows.clear();
}

/** Keeps a row to write with the request's next write; false outside a provider request. */
export function deferWrite(row: unknown): boolean {
  const m = current();
  if (!m) return false;
  m.pending.push(row);
  return true;
}

/** The rows deferred so far in this request, handed over once. */
export function takeDeferredWrites<T>(): T[] {
  const m = current();
  return m ? (m.pending.splice(0) as T[]) : [];
}

/** Consumes refresh token `id` with the request's next write; false outside a provider request. */
export function deferConsume(id: string): boolean {
  const m = current();
  if (!m) return false;
  m.consumes = id;
  return true;
}

/** The refresh token to consume with this write, handed over once. */
export function takeDeferredConsume(): string | undefined {
  const m = current();
  const id = m?.consumes;
  if (m) m.consumes = undefined;
  return id;
}

/** The request's oidc-provider context, when the adapter is called from inside one. */
export function providerRequest(): { route?: string; params?: Record<string, unknown>; isFapi?(...profiles: string[]): string | undefined } | undefined {
  const ctx = Provider.ctx as { oidc?: { route?: string; params?: Record<string, unknown>; isFapi?(...profiles: string[]): string | undefined } } | undefined;
  return ctx?.oidc;
}
