import nunjucks from 'nunjucks';
import path from 'node:path';
import type { Locale, Messages } from '../i18n/index.js';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

/**
 * Renders `<viewsDir>/mail/<template>.html.njk` (autoescaped) and `.txt.njk` (not escaped) with
 * `t` bound to the mail's language. Both parts carry the whole message, links included: some
 * members read mail as plain text.
 */
export class MailRenderer {
  private readonly html: nunjucks.Environment;
  private readonly text: nunjucks.Environment;

  constructor(
    viewsDir: string,
    private readonly messages: Messages,
  ) {
    const root = path.resolve(viewsDir);
    // A variable the caller forgot would silently send a mail with a hole in it.
    this.html = new nunjucks.Environment(new nunjucks.FileSystemLoader(root), { autoescape: true, throwOnUndefined: true });
    this.text = new nunjucks.Environment(new nunjucks.FileSystemLoader(root), {
      autoescape: false,
      throwOnUndefined: true,
      trimBlocks: true,
      lstripBlocks: true,
    });
  }

  render(template: string, locale: Locale, vars: Record<string, unknown> & { unionName: string }): RenderedMail {
    if ('link' in vars && !/^https?:\/\//i.test(String(vars.link))) throw new Error(`mail ${template}: link must be an http(s) URL`);
    const { t } = this.messages.translator(locale);
    const prefix = vars.unionName ? t('mail.subject_prefix', { unionName: vars.unionName }) : '';
    const subject = `${prefix}${t(`mail.${template}.subject`)}`.replace(/\s+/g, ' ').trim();
    const context = { ...vars, t, locale, subject };
    return {
      subject,
      html: this.html.render(`mail/${template}.html.njk`, context),
      text: tidyText(this.text.render(`mail/${template}.txt.njk`, context)),
    };
  }
}

/** Template indentation and blank lines are not part of a plain-text mail. */
function tidyText(text: string): string {
  return `${text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}
