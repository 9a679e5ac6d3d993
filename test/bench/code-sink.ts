import { SMTPServer } from 'smtp-server';
import { mailedCode } from '../support/factors.js';

/**
 * The society's mail relay for the bench's (e): a real SMTP server (smtp-server) that keeps only the
 * code of each message, by recipient. It reads the text part itself instead of parsing the whole
 * message with mailparser, as the test SMTP server does: in production the relay runs elsewhere, and
 * on these two shared cores a full parse per login was charged to the provider's figure.
 */
export interface CodeSink {
  url: string;
  /** The next code mailed to `address` (one already received and not yet taken, or the next to come). */
  nextCode(address: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** The text/plain part of a MIME message, decoded (quoted-printable or base64, UTF-8). */
export function textPart(raw: string): string {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  for (const part of parts) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const headers = part.slice(0, split);
    if (!/content-type:\s*text\/plain/i.test(headers)) continue;
    const body = part.slice(split).trim();
    const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(headers)?.[1]?.toLowerCase();
    if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (encoding === 'quoted-printable') {
      const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    return body;
  }
  throw new Error('no text/plain part');
}

export async function startCodeSink(): Promise<CodeSink> {
  const codes = new Map<string, string[]>();
  const waiters = new Map<string, ((code: string) => void)[]>();
  const deliver = (address: string, code: string) => {
    const waiting = waiters.get(address)?.shift();
    if (waiting) return waiting(code);
    codes.set(address, [...(codes.get(address) ?? []), code]);
  };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    logger: false,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        try {
          const code = mailedCode(textPart(Buffer.concat(chunks).toString('latin1')));
          for (const rcpt of session.envelope.rcptTo) deliver(rcpt.address.toLowerCase(), code);
          callback();
        } catch (err) {
          callback(err as Error);
        }
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    nextCode(address, timeoutMs = 10_000) {
      const key = address.toLowerCase();
      const ready = codes.get(key)?.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no code mailed to ${address} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(key, [
          ...(waiters.get(key) ?? []),
          (code) => {
            clearTimeout(timer);
            resolve(code);
          },
        ]);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
