import { totpApp } from '../support/factors.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startTestIdp, freePort, type TestIdp, type TestIdpOptions } from '../support/idp.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp-capture.js';
import { startDemoPortal } from '../../src/demo-portal/index.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export { PHONE, PC } from '../support/chromium.js';
import { PHONE } from '../support/chromium.js';
import { accountConsoleLinks } from '../../src/oidc/provider.js';

export interface BrowserWorld {
  t: TestIdp;
  smtp: SmtpCapture;
  portal: { url: string; close(): Promise<void> };
  browser: Browser;
  close(): Promise<void>;
}

/** A provider, the demo portal registered with it, a mail catcher and Chromium. */
export async function startBrowserWorld(options: Pick<TestIdpOptions, 'configure'> & { accountLinks?: boolean } = {}): Promise<BrowserWorld> {
  const smtp = await startSmtpCapture();
  const portalPort = await freePort();
  const portalUrl = `http://localhost:${portalPort}`;
  const t = await startTestIdp({
    env: { SMTP_URL: smtp.url },
    configure: (c) => {
      c.clients.push({
        client_id: 'browser-portal', client_secret: 'browser-portal-secret-0123456789', public: false,
        redirect_uris: [`${portalUrl}/callback`], post_logout_redirect_uris: [`${portalUrl}/`], initiate_login_uri: `${portalUrl}/login`,
        scope: 'openid offline_access profile email',
      });
      options.configure?.(c);
    },
  });
  const portal = await startDemoPortal({
    issuer: t.config.issuer, clientId: 'browser-portal', clientSecret: 'browser-portal-secret-0123456789', portalUrl, port: portalPort, host: '127.0.0.1',
    accountLinks: options.accountLinks ? accountConsoleLinks(t.config.issuer, 'browser-portal') : undefined,
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  return {
    t, smtp, portal, browser,
    async close() {
      await browser.close();
      await portal.close();
      await t.close();
      await smtp.close();
    },
  };
}

export async function newPage(world: BrowserWorld, viewport = PHONE): Promise<{ context: BrowserContext; page: Page }> {
  const context = await world.browser.newContext({ viewport, locale: 'ja-JP' });
  return { context, page: await context.newPage() };
}

/** Logs in from the portal's 「ログイン」 (password, then the member's TOTP code) and waits for the portal's top page. */
export async function loginAtPortal(world: BrowserWorld, page: Page, userId: string, password: string): Promise<void> {
  await page.goto(world.portal.url);
  await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
  await page.getByLabel('ユーザID').fill(userId);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
  await answerTotpChallenge(page, world.portal.url, userId);
  await page.waitForURL(`${world.portal.url}/`);
}

/**
 * On ワンタイムパスワードの入力 (a fixture member's TOTP devices, test/support/factors.ts): chooses a
 * device by its name when there are several, types its current code and presses 「トップページへ」.
 * Any other page (the portal already) is left alone.
 */
export async function answerTotpChallenge(page: Page, portalUrl: string, userId: string): Promise<void> {
  await page.waitForURL((u) => u.toString().startsWith(portalUrl) || /\/factor$/.test(u.pathname));
  if (!/\/factor$/.test(new URL(page.url()).pathname)) return;
  const devices = totpApp(userId);
  if (!devices) throw new Error(`no TOTP devices for ${userId}`);
  const device = devices.pick();
  if (devices.devices.length > 1) await page.getByLabel(device.label!).check();
  await page.getByLabel('ワンタイムパスワード').fill(await device.nextCode());
  await page.getByRole('button', { name: 'トップページへ' }).click();
}

/**
 * axe-core on the page as it is: the serious and critical violations, as short lines (empty when
 * none). Every screen a test reaches goes through this.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${page.url()} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * With SHOTS_DIR set (never in CI), saves a full-page screenshot there, named after the screen and
 * the viewport, to be looked at beside the manual.
 */
export async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.SHOTS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const { width } = page.viewportSize()!;
  await page.screenshot({ path: path.join(dir, `${name}-${width}.png`), fullPage: true });
}

/** Every visible interactive element whose box is less than `min` px tall (or wide), as lines. */
export async function smallTargets(page: Page, min = 44): Promise<string[]> {
  const targets = page.locator('a[href], button, input:not([type=hidden]), select, textarea, summary, label:has(input[type=checkbox]), label:has(input[type=radio])');
  const small: string[] = [];
  for (const target of await targets.all()) {
    if (!(await target.isVisible())) continue;
    // A checkbox or radio is tapped through its label, which is measured instead.
    const type = await target.getAttribute('type');
    if ((type === 'checkbox' || type === 'radio') && await target.evaluate((el) => !!el.closest('label'))) continue;
    const box = await target.boundingBox();
    if (!box) continue;
    if (box.height < min || box.width < min) small.push(`${await describe(target)}: ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}

async function describe(target: Locator): Promise<string> {
  return target.evaluate((el) => `${el.tagName.toLowerCase()} "${(el.textContent || (el as HTMLInputElement).name || '').trim().slice(0, 30)}"`);
}

export { eventually as expectLocator } from '../support/chromium.js';
