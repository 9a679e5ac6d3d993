import nodemailer, { type Transporter } from 'nodemailer';

/** A relay that does not answer within these limits is treated as down; the mailer retries. */
const TIMEOUTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
  dnsTimeout: 10_000,
};

/**
 * A few SMTP connections kept open and reused (a login with the mailed code sends one mail; a new
 * connection, its greeting and STARTTLS for each cost more than the mail: test/bench (e)). A
 * connection the relay closed (idle, or restarted) is replaced by a new one; a message that failed
 * on it is retried by the mailer. Accepts `smtp://[user:pass@]host[:port]` (STARTTLS when offered)
 * and `smtps://…` (TLS from the start).
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
  return nodemailer.createTransport({ url, pool: true, maxConnections: 3, maxMessages: 100, ...TIMEOUTS });
}
