import type { Logger } from 'pino';
import type { Sql } from '../db/sql.js';
import { startSmtpReceiver, type ReceivedMail } from './smtp-receiver.js';

/** The development mailbox keeps this many messages; older ones are dropped as new ones arrive. */
const KEEP_MESSAGES = 500;

export interface DevSmtpServerOptions {
  port: number;
  host?: string;
  /** The pool, unscoped: each message is filed under the society that sent it. */
  sql: Sql;
  /** The configured societies; a message naming none of them (X-Kosmo-Society) goes to `defaultSociety`. */
  societies: readonly string[];
  defaultSociety: string;
  logger: Logger;
}

export interface DevSmtpServer {
  /** Give this to the mail transport, e.g. `smtp://127.0.0.1:2525`. */
  url: string;
  close(): Promise<void>;
}

export async function storeDevMail(sql: Sql, mail: ReceivedMail): Promise<number> {
  return sql.transaction(async (tx) => {
    const row = await tx.one<{ id: string }>('insert into dev_mail (recipients, sender, subject, html, text) values ($1, $2, $3, $4, $5) returning id', [
      mail.recipients.join(', '),
      mail.sender,
      mail.subject,
      mail.html || null,
      mail.text || null,
    ]);
    await tx.run('delete from dev_mail where id <= $1', [Number(row!.id) - KEEP_MESSAGES]);
    return Number(row!.id);
  });
}

/**
 * Development only: an SMTP server inside the process that keeps every message in the
 * `dev_mail` table, so any instance's /dev/mailbox shows mail sent by any other.
 */
export async function startDevSmtpServer(options: DevSmtpServerOptions): Promise<DevSmtpServer> {
  const { sql, logger } = options;
  const receiver = await startSmtpReceiver({
    port: options.port,
    host: options.host ?? '127.0.0.1',
    receive: async (mail) => {
      try {
        const society = mail.society && options.societies.includes(mail.society) ? mail.society : options.defaultSociety;
        const id = await storeDevMail(sql.forSociety(society), mail);
        logger.debug({ devMailId: id }, 'development mail stored');
      } catch (err) {
        logger.warn({ err }, 'development mail could not be stored');
        throw err;
      }
    },
    onError: (err) => logger.debug({ errorCode: (err as { code?: string }).code }, 'development SMTP connection error'),
  });
  logger.info({ url: receiver.url }, 'development SMTP server listening');
  return { url: receiver.url, close: receiver.close };
}
