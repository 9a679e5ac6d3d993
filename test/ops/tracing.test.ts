import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestIdp, freePort, passwordAtPortal, isPortal } from '../support/idp.js';
import { startIdpProcess, testProcessConfig, type IdpProcess } from '../support/idp-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp-capture.js';
import { mailedCode } from '../support/factors.js';

/** A span as OTLP/HTTP JSON carries it, with its attributes flattened. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}
type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
interface OtlpExport {
  resourceSpans: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans: { spans: (Omit<ReceivedSpan, 'attributes'> & { attributes?: { key: string; value: OtlpValue }[] })[] }[];
  }[];
}
const SERVER = 2;
const otlpValue = (v: OtlpValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));

/**
 * Issue 21: with OTEL_EXPORTER_OTLP_ENDPOINT set, a provider process sends a span per request, with
 * the PostgreSQL statements, the bcrypt comparison and the SMTP delivery under it, to a real OTLP/HTTP
 * receiver (this test's).
 */
describe('OpenTelemetry tracing to an OTLP/HTTP receiver', () => {
  let receiver: Server;
  const spans: ReceivedSpan[] = [];
  const services: unknown[] = [];
  let db: TestDatabase;
  let smtp: SmtpCapture;
  let dir: string;
  let idp: IdpProcess;
  let issuer: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
          const exported = JSON.parse(body) as OtlpExport;
          for (const resource of exported.resourceSpans) {
            services.push(otlpValue(resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value ?? {}));
            for (const scope of resource.scopeSpans)
              for (const span of scope.spans)
                spans.push({ ...span, attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, otlpValue(a.value)])) });
          }
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
      });
    });
    const receiverPort = await freePort();
    await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));

    db = await createTestDatabase();
    smtp = await startSmtpCapture();
    const seed = await startTestIdp({ databaseUrl: db.url });
    await seed.addMember({ userId: 'traced001', email: 'traced@example.jp' }, { password: 'Traced-pass-1', onboarded: true, factor: 'email' });
    await seed.close();
    dir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-trace-'));
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}/kosmo`;
    idp = await startIdpProcess({
      name: 'traced',
      port,
      managementPort: await freePort(),
      db,
      dir,
      configDir: testProcessConfig(dir),
      env: {
        ISSUER: `http://127.0.0.1:${port}`,
        SMTP_URL: smtp.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        SHUTDOWN_DELAY_SECONDS: '0',
      },
    });
  }, 120_000);

  afterAll(async () => {
    if (idp && idp.child.exitCode === null) idp.child.kill('SIGKILL');
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    await smtp?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exports a span per request, with the statements, the bcrypt comparison and the mail under it', async () => {
    const { browser, rp, request, page } = await passwordAtPortal(issuer, 'traced001', 'Traced-pass-1');
    const mail = await smtp.waitFor((m) => m.to.includes('traced@example.jp'));
    const done = await browser.submit(page, 'factor', { code: mailedCode(mail.text) }, { stopAt: isPortal });
    expect(isPortal(done.url)).toBe(true);
    await rp.exchange(done.url, request);

    const childrenOf = (parent: ReceivedSpan) => spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
    const requestSpan = (method: string, route: string) =>
      spans.find((s) => s.kind === SERVER && s.attributes['http.request.method'] === method && s.attributes['http.route'] === route);
    // The batch goes out every 100 ms; SIGTERM flushes the rest.
    for (let i = 0; i < 100 && !(requestSpan('POST', '/interaction/:uid/login') && requestSpan('POST', '/token')); i++)
      await new Promise((r) => setTimeout(r, 100));
    idp.child.kill('SIGTERM');
    expect(await idp.exited()).toBe(0);

    expect(services).toContain('kosmo-idp');
    const login = requestSpan('POST', '/interaction/:uid/login')!;
    expect(login).toBeDefined();
    expect(login.name).toBe('POST /interaction/:uid/login');
    expect(login.attributes).toMatchObject({ 'http.response.status_code': 303, 'kosmo.society': 'kosmo' });
    const underLogin = childrenOf(login);
    expect(underLogin.map((s) => s.name)).toContain('bcrypt.compare');
    const statements = underLogin.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.every((s) => typeof s.attributes['db.query.text'] === 'string' && /^pg [A-Z]+$/.test(s.name))).toBe(true);
    // The mailed code: an SMTP delivery under the request that sent it.
    const smtpSpans = spans.filter((s) => s.name === 'smtp.send');
    expect(smtpSpans.length).toBeGreaterThan(0);
    const mailer = spans.find((s) => s.spanId === smtpSpans[0]!.parentSpanId);
    expect(mailer?.kind).toBe(SERVER);
    expect(smtpSpans[0]!.attributes['mail.template']).toBe('email_code');
    // The token endpoint's statements too (the provider's adapter).
    expect(childrenOf(requestSpan('POST', '/token')!).some((s) => s.attributes['db.system.name'] === 'postgresql')).toBe(true);

    // Nothing personal: no user ID, address, password or code in any span.
    const exported = JSON.stringify(spans);
    for (const secret of ['traced001', 'traced@example.jp', 'Traced-pass-1', mailedCode(mail.text)]) expect(exported).not.toContain(secret);
  }, 60_000);
});
