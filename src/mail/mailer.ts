import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { hmac } from '../crypto.js';
import type { Locale, Messages } from '../i18n/index.js';
import { MailRenderer } from './render.js';
import { countMail } from '../ops/metrics.js';
import { inSpan } from '../ops/tracing.js';

/** Every mail we send and the values its templates need. */
export interface MailTemplates {
  verify_email: { name: string; link: string; minutes: number };
  password_reset: { name: string; userId: string; link: string; minutes: number };
  user_id_reminder: { name: string; userId: string };
  email_code: { name: string; code: string; minutes: number };
  /** A change to the member's login details, sent to the confirmed address (the old one for an address change). */
  security_notice: { name: string; change: SecurityChange; when: string };
}

export const SECURITY_CHANGES = [
  'password_changed',
  'email_changed',
  'user_id_changed',
  'method_changed',
  'factor_added',
  'factor_removed',
  'recovery_codes_issued',
  'recovery_code_used',
] as const;
export type SecurityChange = (typeof SECURITY_CHANGES)[number];
export type MailTemplate = keyof MailTemplates;

export interface SendMail<T extends MailTemplate> {
  to: string;
  template: T;
  locale: Locale;
  /** `unionName` overrides the union name the mailer was built with. */
  vars: MailTemplates[T] & { unionName?: string };
}

export type SendResult = { ok: true; messageId: string } | { ok: false };

export interface MailerOptions {
  transport: Transporter;
  messages: Messages;
  /** The views root; templates are read from `<viewsDir>/mail/`. */
  viewsDir: string;
  /** The From header, e.g. `no-reply@kosmo-web.jp` (FAQ Q19). */
  from: string;
  /** The society that sends (an X-Kosmo-Society header: the development mailbox files the mail under it). */
  society?: string;
  logger: Logger;
  /** Shown in every mail as the sender, in the mail's language. */
  unionName?: { ja: string; en: string };
  /** Waits between attempts; one attempt more than there are delays. Default 200 ms, then 1 s. */
  retryDelaysMs?: number[];
  /** Key for the recipient hash in logs; give a stable one to correlate logs across processes. */
  logKey?: Buffer | string;
}

interface DeliveryError {
  code?: string;
  responseCode?: number;
  command?: string;
  permanent?: boolean;
}

/**
 * Renders a mail from its templates and hands it to the SMTP relay, retrying transient failures.
 * A failed delivery is a value ({ ok: false }) so the page can offer "resend"; logs name the
 * template and a short hash of the recipient, never the address, a code or a link.
 */
export class Mailer {
  private readonly renderer: MailRenderer;
  private readonly retryDelaysMs: number[];
  private readonly logKey: Buffer | string;

  constructor(private readonly options: MailerOptions) {
    this.renderer = new MailRenderer(options.viewsDir, options.messages);
    this.retryDelaysMs = options.retryDelaysMs ?? [200, 1000];
    this.logKey = options.logKey ?? randomBytes(32);
  }

  async send<T extends MailTemplate>(request: SendMail<T>): Promise<SendResult> {
    const { to, template, locale } = request;
    const unionName = request.vars.unionName ?? this.options.unionName?.[locale] ?? '';
    const mail = this.renderer.render(template, locale, { ...request.vars, unionName });
    const log = this.options.logger.child({ mail: template, locale, recipient: hmac(this.logKey, to.toLowerCase()).slice(0, 12) });
    const attempts = this.retryDelaysMs.length + 1;

    let attempt = 0;
    while (attempt < attempts) {
      attempt++;
      try {
        const info = (await inSpan('smtp.send', { 'mail.template': template, 'mail.attempt': attempt }, () =>
          this.options.transport.sendMail({
            // The society's name as the display name, so the member knows who writes (FAQ Q19's address).
            from: unionName ? { name: unionName, address: this.options.from } : this.options.from,
            // An address object is never split at commas: one request, one recipient.
            to: { name: '', address: to },
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            headers: {
              'Auto-Submitted': 'auto-generated',
              'X-Auto-Response-Suppress': 'All',
              ...(this.options.society ? { 'X-Kosmo-Society': this.options.society } : {}),
            },
          }),
        )) as { messageId?: string };
        log.info({ attempt }, 'mail sent');
        countMail(this.options.society, template, 'sent');
        return { ok: true, messageId: info.messageId ?? '' };
      } catch (err) {
        // Only the SMTP status, never err.message: relays quote the recipient address in it.
        const { code, responseCode, command, permanent } = err as DeliveryError;
        log.warn({ attempt, errorCode: code, responseCode, command, permanent }, 'mail delivery attempt failed');
        // A permanent rejection (5xx) would only be refused again.
        if (permanent === true || attempt === attempts) break;
        await sleep(this.retryDelaysMs[attempt - 1]);
      }
    }
    log.error({ attempts: attempt }, 'mail not delivered');
    countMail(this.options.society, template, 'failed');
    return { ok: false };
  }

  close(): void {
    this.options.transport.close();
  }
}
