import nodemailer, { type Transporter } from 'nodemailer';

/** A relay that does not answer within these limits is treated as down; the mailer retries. */
const TIMEOUTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
  dnsTimeout: 10_000,
};

/**
 * One SMTP connection per message (no pool): mail is rare here, and a fresh connection
 * recovers by itself after the relay restarts. Accepts `smtp://[user:pass@]host[:port]`
 * (STARTTLS when offered) and `smtps://…` (TLS from the start).
 */
export function createSmtpTransport(url: string): Transporter {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('SMTP URL is not a valid URL');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new Error(`SMTP URL must start with smtp:// or smtps://, not ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new Error('SMTP URL has no host');
  return nodemailer.createTransport({ url, pool: false, ...TIMEOUTS });
}
