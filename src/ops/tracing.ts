import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { Logger } from '../logger.js';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then a span per request
 * (src/http/request-metrics.ts) with the PostgreSQL statements, bcrypt comparisons and SMTP
 * deliveries it caused under it, exported over OTLP/HTTP. The spans are made here by hand:
 * oidc-provider, MikroORM and this code are ES modules, which the SDK's require-hook
 * auto-instrumentation does not see. Off, nothing of the SDK is loaded and each helper is one
 * boolean test. Spans carry statement texts (parameters are never included), route templates and
 * mail template names: no member, address, code or token.
 */
let enabled = false;
const tracer = () => trace.getTracer('kosmo-idp');

export const tracingEnabled = (): boolean => enabled;

export interface Tracing {
  /** Sends the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The collector's base URL (OTEL_EXPORTER_OTLP_ENDPOINT): spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  log: Logger;
}

/** Registers the SDK (loaded only now) with a batching OTLP/HTTP exporter. */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  enabled = true;
  options.log.info({ endpoint: options.endpoint }, 'tracing: spans exported over OTLP/HTTP');
  return {
    async shutdown() {
      enabled = false;
      await provider.shutdown();
    },
  };
}

function ended(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
  }
  span.end();
}

/** Runs `fn` in a span of its own under the current one (when tracing is on). */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (!enabled) return fn();
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      const result = await fn();
      ended(span);
      return result;
    } catch (err) {
      ended(span, err);
      throw err;
    }
  });
}

/** A request's server span: named and labelled when it ends (`finish`), as its route is known only then. */
export async function inRequestSpan(
  method: string,
  handle: (finish: (attributes: { route: string; status: number; society: string }) => void) => Promise<void>,
): Promise<void> {
  if (!enabled) return handle(() => {});
  return tracer().startActiveSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, async (span) => {
    const finish = ({ route, status, society }: { route: string; status: number; society: string }) => {
      span.updateName(`${method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status, 'kosmo.society': society });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    };
    try {
      await handle(finish);
    } finally {
      span.end();
    }
  });
}

type QueryCallback = (err: Error | undefined, result: unknown) => void;
interface Queryable {
  query(...args: unknown[]): unknown;
}
interface ConnectingPool {
  connect(...args: unknown[]): unknown;
}
const traced = new WeakSet<object>();

/** The span of one statement sent on a pg client, under the current span: its text, never its parameters. */
function traceClient(client: Queryable): void {
  if (traced.has(client)) return;
  traced.add(client);
  const query = client.query;
  client.query = function (this: unknown, ...args: unknown[]) {
    const [config] = args;
    const text = typeof config === 'string' ? config : (config as { text?: string } | undefined)?.text;
    if (!enabled || typeof text !== 'string') return query.apply(this, args);
    const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
    const span = tracer().startSpan(
      `pg ${operation}`,
      { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': text.slice(0, 2000) } },
      context.active(),
    );
    const callbackAt = args.findIndex((a) => typeof a === 'function');
    if (callbackAt >= 0) {
      const callback = args[callbackAt] as QueryCallback;
      args[callbackAt] = (err: Error | undefined, result: unknown) => {
        ended(span, err ?? undefined);
        callback(err, result);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args) as Promise<unknown> | undefined;
    if (!result || typeof result.then !== 'function') {
      ended(span);
      return result;
    }
    return result.then(
      (value) => {
        ended(span);
        return value;
      },
      (err: unknown) => {
        ended(span, err);
        throw err;
      },
    );
  };
}

/**
 * Traces every statement sent on a connection `pool` hands out (the ORM's pool: its entities, the
 * Kysely statements and the prepared ones all check a connection out through `connect`).
 */
export function traceDatabasePool(pool: ConnectingPool): void {
  const connect = pool.connect.bind(pool);
  pool.connect = (...args: unknown[]) => {
    const callbackAt = args.findIndex((a) => typeof a === 'function');
    if (callbackAt >= 0) {
      const callback = args[callbackAt] as (err: Error | undefined, client?: Queryable, done?: unknown) => void;
      args[callbackAt] = (err: Error | undefined, client?: Queryable, done?: unknown) => {
        if (client) traceClient(client);
        callback(err, client, done);
      };
      return connect(...args);
    }
    return (connect(...args) as Promise<Queryable>).then((client) => {
      traceClient(client);
      return client;
    });
  };
}
