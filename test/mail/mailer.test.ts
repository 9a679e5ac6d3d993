import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Messages } from '../../src/i18n/index.js';
import { Mailer, type MailTemplate, type MailTemplates } from '../../src/mail/mailer.js';
import { createSmtpTransport } from '../../src/mail/transport.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp-capture.js';

const ADDRESS = 'hanako.kenpo@example.jp';
const LINK = 'https://idp.example.jp/verify-email/Zx9_tok-EN?a=1&b=2';
const UNION = { ja: 'コスモ健康保険組合', en: 'Kosmo Health Insurance Society' };

function recordingLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const written: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void written.push(line) });
  return { logger, lines: () => written.map((l) => JSON.parse(l) as Record<string, unknown>), raw: () => written.join('') };
}

describe('the mailer, through a real SMTP server', () => {
  let capture: SmtpCapture;
  let log: ReturnType<typeof recordingLogger>;
  let mailer: Mailer;
  const messages = new Messages(path.resolve('locales'), [path.resolve('locales/mail')]);

  beforeAll(async () => {
    capture = await startSmtpCapture();
  });
  afterAll(async () => {
    mailer?.close();
    await capture.close();
  });
  beforeEach(() => {
    capture.clear();
    log = recordingLogger();
    mailer = new Mailer({
      transport: createSmtpTransport(capture.url),
      messages,
      viewsDir: 'views',
      from: 'no-reply@kosmo-web.jp',
      logger: log.logger,
      unionName: UNION,
      retryDelaysMs: [20, 50],
    });
  });

  it('sends the verification mail in Japanese with the link in both the HTML and the text part', async () => {
    const result = await mailer.send({ to: ADDRESS, template: 'verify_email', locale: 'ja', vars: { name: '健保 花子', link: LINK, minutes: 30 } });
    expect(result).toEqual({ ok: true, messageId: expect.any(String) });
    const mail = await capture.waitFor((m) => m.to.includes(ADDRESS));
    expect(mail.from).toBe('no-reply@kosmo-web.jp');
    // The society's name is the display name, in the mail's language.
    expect(mail.sender).toBe('"コスモ健康保険組合" <no-reply@kosmo-web.jp>');
    expect(mail.subject).toBe('【コスモ健康保険組合】メールアドレスの確認');
    expect(mail.links).toEqual([LINK]);
    expect(mail.html).toContain(`href="${LINK.replace(/&/g, '&amp;')}"`);
    expect(mail.html).toContain('メールアドレスの確認</a>');
    expect(mail.text).toContain('健保 花子 様');
    expect(mail.text).toContain('30分');
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain('送信元：コスモ健康保険組合');
      expect(part).toContain('自動で送信');
    }
  });

  it('sends the verification mail in English with the link in both parts', async () => {
    await mailer.send({ to: ADDRESS, template: 'verify_email', locale: 'en', vars: { name: 'Hanako Kenpo', link: LINK, minutes: 30 } });
    const mail = await capture.waitFor((m) => m.to.includes(ADDRESS));
    expect(mail.subject).toBe('[Kosmo Health Insurance Society] Confirm your email address');
    expect(mail.links).toEqual([LINK]);
    expect(mail.html).toContain(`href="${LINK.replace(/&/g, '&amp;')}"`);
    expect(mail.html).toContain('<html lang="en">');
    expect(mail.text).toContain('Dear Hanako Kenpo,');
    expect(mail.text).toContain('From: Kosmo Health Insurance Society');
  });

  it('escapes what the member typed in the HTML part', async () => {
    await mailer.send({ to: ADDRESS, template: 'user_id_reminder', locale: 'ja', vars: { name: '<img src=x onerror=alert(1)>', userId: 'user0001' } });
    const mail = await capture.waitFor((m) => m.to.includes(ADDRESS));
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(mail.text).toContain('ユーザID: user0001');
  });

  it('renders every mail in both languages without a missing text', async () => {
    const samples: { [T in MailTemplate]: MailTemplates[T] } = {
      verify_email: { name: 'A', link: LINK, minutes: 30 },
      password_reset: { name: 'A', userId: 'user0001', link: 'https://idp.example.jp/reset/abc', minutes: 5 },
      user_id_reminder: { name: 'A', userId: 'user0001' },
      email_code: { name: 'A', code: '482913', minutes: 10 },
      security_notice: { name: 'A', change: 'password_changed', when: '2026年11月25日 23:05' },
    };
    for (const locale of ['ja', 'en'] as const) {
      for (const template of Object.keys(samples) as MailTemplate[]) {
        capture.clear();
        const result = await mailer.send({ to: ADDRESS, template, locale, vars: samples[template] as never });
        expect(result.ok).toBe(true);
        const mail = await capture.waitFor(() => true);
        for (const part of [mail.subject, mail.text, mail.html]) expect(part).not.toMatch(/\b(mail|layout)\.[a-z_]+/);
        const vars = samples[template] as Record<string, unknown>;
        for (const key of ['link', 'userId', 'code'] as const) {
          if (vars[key]) {
            expect(mail.text).toContain(String(vars[key]));
            expect(mail.html).toContain(String(vars[key]).replace(/&/g, '&amp;'));
          }
        }
      }
    }
  });

  it('keeps the same mail texts in Japanese and English', () => {
    const keys = (tree: unknown, prefix = ''): string[] =>
      Object.entries(tree as Record<string, unknown>).flatMap(([k, v]) => (typeof v === 'string' ? [`${prefix}${k}`] : keys(v, `${prefix}${k}.`)));
    const ja = keys(JSON.parse(readFileSync('locales/mail/ja.json', 'utf8')));
    const en = keys(JSON.parse(readFileSync('locales/mail/en.json', 'utf8')));
    expect(en.sort()).toEqual(ja.sort());
  });

  it('retries a transient failure and delivers the mail', async () => {
    capture.failNext(1);
    const result = await mailer.send({ to: ADDRESS, template: 'verify_email', locale: 'ja', vars: { name: '健保 花子', link: LINK, minutes: 30 } });
    expect(result.ok).toBe(true);
    expect(capture.rejected).toBe(1);
    expect(capture.messages).toHaveLength(1);
    const lines = log.lines();
    expect(lines.filter((l) => l.msg === 'mail delivery attempt failed')).toEqual([
      expect.objectContaining({ attempt: 1, responseCode: 451, mail: 'verify_email' }),
    ]);
    expect(lines.find((l) => l.msg === 'mail sent')).toEqual(expect.objectContaining({ attempt: 2 }));
  });

  it('keeps its connection for the next mail, and when the relay restarts, the next mail goes through a new one', async () => {
    const send = () => mailer.send({ to: ADDRESS, template: 'verify_email', locale: 'ja', vars: { name: '健保 花子', link: LINK, minutes: 30 } });
    expect((await send()).ok).toBe(true);
    expect((await send()).ok).toBe(true);
    expect(capture.messages).toHaveLength(2);
    // The relay goes away (its connections with it) and comes back on the same address.
    const port = Number(new URL(capture.url).port);
    await capture.close();
    capture = await startSmtpCapture(port);
    expect((await send()).ok).toBe(true);
    expect(capture.messages).toHaveLength(1);
  });

  it('gives up after three attempts, returns ok: false and logs without the address or the link', async () => {
    capture.failNext(3);
    const result = await mailer.send({ to: ADDRESS, template: 'verify_email', locale: 'ja', vars: { name: '健保 花子', link: LINK, minutes: 30 } });
    expect(result).toEqual({ ok: false });
    expect(capture.rejected).toBe(3);
    expect(capture.messages).toHaveLength(0);
    const lines = log.lines();
    expect(lines.filter((l) => l.msg === 'mail delivery attempt failed')).toHaveLength(3);
    expect(lines.find((l) => l.msg === 'mail not delivered')).toEqual(
      expect.objectContaining({ level: 50, attempts: 3, mail: 'verify_email', recipient: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/) }),
    );
    const raw = log.raw();
    for (const secret of [ADDRESS, 'hanako', 'example.jp', LINK, 'Zx9_tok', '健保 花子']) expect(raw).not.toContain(secret);
  });

  it('does not retry a permanent rejection', async () => {
    capture.failNext(1, 550);
    const result = await mailer.send({ to: ADDRESS, template: 'email_code', locale: 'ja', vars: { name: '健保 花子', code: '123456', minutes: 10 } });
    expect(result).toEqual({ ok: false });
    expect(capture.rejected).toBe(1);
    expect(log.lines().find((l) => l.msg === 'mail not delivered')).toEqual(expect.objectContaining({ attempts: 1 }));
    expect(log.raw()).not.toContain('123456');
  });

  it('never turns one address into several recipients', async () => {
    for (const to of ['a@example.jp, other@example.jp', 'a@example.jp\r\nBcc: other@example.jp']) {
      await expect(mailer.send({ to, template: 'user_id_reminder', locale: 'ja', vars: { name: 'A', userId: 'user0001' } })).resolves.toEqual({ ok: false });
    }
    expect(capture.messages).toHaveLength(0);
  });

  it('returns ok: false when no SMTP server answers', async () => {
    const closed = await startSmtpCapture();
    await closed.close();
    const down = new Mailer({
      transport: createSmtpTransport(closed.url),
      messages,
      viewsDir: 'views',
      from: 'no-reply@kosmo-web.jp',
      logger: log.logger,
      unionName: UNION,
      retryDelaysMs: [10, 10],
    });
    await expect(down.send({ to: ADDRESS, template: 'user_id_reminder', locale: 'en', vars: { name: 'H', userId: 'user0001' } })).resolves.toEqual({
      ok: false,
    });
    expect(log.lines().filter((l) => l.msg === 'mail delivery attempt failed')).toHaveLength(3);
    down.close();
  });

  it('refuses an SMTP URL of another scheme', () => {
    expect(() => createSmtpTransport('http://127.0.0.1:25')).toThrow(/smtp:\/\/ or smtps:\/\//);
  });
});
