import { createServer, type Server } from 'node:http';
import type { Logger } from '../logger.js';
import { metricsRegistry } from './metrics.js';

/** What the management port's probes ask the process (src/main.ts answers from its Idp). */
export interface Probes {
  /** The default society is built: the process could serve (`/health/started`). */
  started(): boolean;
  /** It should get traffic: started, not draining, its database answering within a bound (`/health/ready`). */
  ready(): Promise<{ ready: boolean; reason?: string }>;
}

export interface ManagementServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The management listener (MANAGEMENT_PORT, as Keycloak's port 9000), apart from the public port so
 * that it need not be exposed to members: Prometheus text at /metrics, and the three probes
 * /health/live (the process answers), /health/ready and /health/started. Plain node:http, no
 * society, no cookies: it works before the provider is built and while it drains.
 */
export async function startManagementServer(options: { port: number; host: string; probes: Probes; log: Logger }): Promise<ManagementServer> {
  const { probes, log } = options;
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, body: Record<string, unknown>) => send(status, 'application/json; charset=utf-8', JSON.stringify(body));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/metrics':
        metricsRegistry.metrics().then(
          (text) => send(200, metricsRegistry.contentType, text),
          (err: unknown) => {
            log.warn({ err }, 'metrics not collected');
            send(500, 'text/plain; charset=utf-8', 'metrics not collected\n');
          },
        );
        return;
      case '/health/live':
        return json(200, { status: 'UP' });
      case '/health/started':
        return probes.started() ? json(200, { status: 'UP' }) : json(503, { status: 'DOWN', reason: 'starting' });
      case '/health/ready':
      case '/health':
        probes.ready().then(
          ({ ready, reason }) => (ready ? json(200, { status: 'UP' }) : json(503, { status: 'DOWN', reason })),
          () => json(503, { status: 'DOWN', reason: 'error' }),
        );
        return;
      default:
        return send(404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host}:${port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
