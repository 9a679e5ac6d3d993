import { extractLinks } from '../../src/mail/links.js';
import { startSmtpReceiver, type SmtpRejection } from '../../src/mail/smtp-receiver.js';

export interface CapturedMail {
  /** Envelope recipients: who the message was really delivered to. */
  to: string[];
  /** The From header's address. */
  from: string;
  /** The From header as written, display name included. */
  sender: string;
  subject: string;
  text: string;
  html: string;
  /** The http(s) links in the text part, in order. */
  links: string[];
}

export interface SmtpCapture {
  /** Give this to the mail transport (SMTP_URL). */
  url: string;
  /** Every message delivered so far, oldest first. */
  messages: CapturedMail[];
  /** Resolves with the first message, already delivered or still to come, that matches. */
  waitFor(predicate: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** Forgets the delivered messages, any failures still queued by failNext and the rejected count. */
  clear(): void;
  close(): Promise<void>;
  /** The next `n` delivery attempts are refused at MAIL FROM: 451 (try later) unless a 5xx is given. */
  failNext(n: number, responseCode?: number): void;
  /** How many delivery attempts failNext has refused so far. */
  readonly rejected: number;
}

interface Waiter {
  predicate: (m: CapturedMail) => boolean;
  resolve: (m: CapturedMail) => void;
}

/** A real SMTP server on a random loopback port that keeps what it receives in memory, for tests. */
export async function startSmtpCapture(port = 0): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  let waiters: Waiter[] = [];
  const failures: SmtpRejection[] = [];
  let rejected = 0;

  const receiver = await startSmtpReceiver({
    port,
    async receive(mail) {
      const captured: CapturedMail = {
        to: mail.recipients,
        from: mail.from,
        sender: mail.sender,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        links: extractLinks(mail.text),
      };
      messages.push(captured);
      const matched = waiters.filter((w) => w.predicate(captured));
      waiters = waiters.filter((w) => !matched.includes(w));
      for (const w of matched) w.resolve(captured);
    },
    rejectDelivery() {
      const failure = failures.shift();
      if (failure) rejected++;
      return failure;
    },
  });

  return {
    url: receiver.url,
    messages,
    get rejected() {
      return rejected;
    },
    waitFor(predicate, timeoutMs = 5000) {
      const existing = messages.find(predicate);
      if (existing) return Promise.resolve(existing);
      return new Promise<CapturedMail>((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    clear() {
      messages.length = 0;
      failures.length = 0;
      rejected = 0;
    },
    failNext(n, responseCode = 451) {
      for (let i = 0; i < n; i++) failures.push({ responseCode, message: responseCode >= 500 ? 'rejected by the test' : 'try again later (test)' });
    },
    close: receiver.close,
  };
}
