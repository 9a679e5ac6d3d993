import { isIP } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { simpleParser } from 'mailparser';

/** A message as a development or test SMTP server received it. */
export interface ReceivedMail {
  /** The envelope recipients (RCPT TO), which is who the message was delivered to. */
  recipients: string[];
  /** The From header's address. */
  from: string;
  /** The From header as written: display name and address. */
  sender: string;
  subject: string;
  /** The X-Kosmo-Society header our mailer writes: which society sent it. */
  society?: string;
  text: string;
  html: string;
}

/** An SMTP rejection: 4xx asks the sender to try again later, 5xx refuses for good. */
export interface SmtpRejection {
  responseCode: number;
  message: string;
}

export interface SmtpReceiverOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  maxBytes?: number;
  /** Stores or keeps the message; a throw answers 451 so the sender retries. */
  receive(mail: ReceivedMail): Promise<void>;
  /** Asked at MAIL FROM; a rejection ends this delivery attempt. */
  rejectDelivery?(): SmtpRejection | undefined;
  /** Connection-level trouble (a client hanging up mid-session); the server keeps running. */
  onError?(err: Error): void;
}

export interface SmtpReceiver {
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.replace(/^::ffff:/, '');
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}

function smtpError(rejection: SmtpRejection): Error {
  return Object.assign(new Error(rejection.message), { responseCode: rejection.responseCode });
}

/**
 * An SMTP server for development and tests only: loopback, no authentication, no TLS, a size
 * limit. Every accepted message is parsed and handed to `receive`.
 */
export async function startSmtpReceiver(options: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`development SMTP server listens on loopback only, not ${host}`);
  const maxBytes = options.maxBytes ?? 2 * 1024 * 1024;

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: maxBytes,
    rejectOversized: true,
    logger: false,
    banner: 'kosmo-idp development mail',
    closeTimeout: 1000,
    socketTimeout: 30_000,
    onConnect(session, callback) {
      callback(isLoopback(session.remoteAddress) ? null : smtpError({ responseCode: 554, message: 'loopback only' }));
    },
    onMailFrom(_address, _session, callback) {
      const rejection = options.rejectDelivery?.();
      callback(rejection ? smtpError(rejection) : null);
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError({ responseCode: 552, message: 'message too large' }));
        simpleParser(Buffer.concat(chunks))
          .then((parsed) =>
            options.receive({
              recipients: session.envelope.rcptTo.map((r) => r.address),
              from: parsed.from?.value[0]?.address ?? '',
              sender: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              society: typeof parsed.headers.get('x-kosmo-society') === 'string' ? (parsed.headers.get('x-kosmo-society') as string) : undefined,
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            }),
          )
          .then(
            () => callback(null),
            () => callback(smtpError({ responseCode: 451, message: 'could not store the message, try again' })),
          );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Without a listener an EventEmitter 'error' would end the whole process.
  server.on('error', (err: Error) => options.onError?.(err));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `smtp://${urlHost}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
