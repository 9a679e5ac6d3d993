import Router from '@koa/router';
import type { Context } from 'koa';
import type { Sql } from '../../db/sql.js';
import { toDate } from '../../db/sql.js';
import { extractLinks } from '../../mail/links.js';
import { render } from '../render.js';

const LIST_LIMIT = 100;

/** The mail's own HTML runs in an opaque origin: no scripts, forms, plugins or remote loads. */
const HTML_PART_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

interface DevMailRow {
  id: string;
  recipients: string;
  sender: string;
  subject: string;
  html: string | null;
  text: string | null;
  created_at: Date | string;
}

function formatTime(ctx: Context, value: Date | string): string {
  const locale = ctx.state.locale === 'en' ? 'en-GB' : 'ja-JP';
  return toDate(value)!.toLocaleString(locale, { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'medium' });
}

async function findMessage(sql: Sql, id: string): Promise<DevMailRow | undefined> {
  return sql.one<DevMailRow>('select id, recipients, sender, subject, html, text, created_at from dev_mail where id = $1', [id]);
}

function notFound(ctx: Context): void {
  render(ctx, 'error', { title: 'mail.dev_mailbox.title', message: 'mail.dev_mailbox.not_found' }, 404);
}

/**
 * Development only (the caller mounts it outside production): the mail the development SMTP
 * server caught. A message is shown as its text part and the links in it; its HTML part is
 * never put into our pages, only served on its own under a sandboxing CSP.
 */
export function devMailboxRouter(sql: Sql): Router {
  const router = new Router();

  router.get('/dev/mailbox', async (ctx) => {
    const rows = await sql.rows<DevMailRow>('select id, recipients, sender, subject, created_at from dev_mail order by id desc limit $1', [LIST_LIMIT]);
    render(ctx, 'dev-mailbox', {
      messages: rows.map((row) => ({
        id: row.id,
        recipients: row.recipients,
        sender: row.sender,
        subject: row.subject,
        receivedAt: formatTime(ctx, row.created_at),
      })),
    });
  });

  router.get('/dev/mailbox/:id', async (ctx) => {
    const row = /^\d{1,18}$/.test(ctx.params.id!) ? await findMessage(sql, ctx.params.id!) : undefined;
    if (!row) return notFound(ctx);
    render(ctx, 'dev-mailbox-message', {
      message: {
        id: row.id,
        recipients: row.recipients,
        sender: row.sender,
        subject: row.subject,
        receivedAt: formatTime(ctx, row.created_at),
        text: row.text ?? '',
        links: extractLinks(row.text ?? ''),
        hasHtml: Boolean(row.html),
      },
    });
  });

  router.get('/dev/mailbox/:id/html', async (ctx) => {
    const row = /^\d{1,18}$/.test(ctx.params.id!) ? await findMessage(sql, ctx.params.id!) : undefined;
    if (!row?.html) return notFound(ctx);
    ctx.set('Content-Security-Policy', HTML_PART_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = row.html;
  });

  return router;
}
