import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerClient } from '../../src/config/clients.js';
import { afterAll, beforeAll, expect } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startMailedTestIdp, freePort, type TestIdp, type TestIdpOptions } from '../support/idp.js';
import type { SmtpCapture } from '../support/smtp-capture.js';
import { totpApp } from '../support/factors.js';
import { PHONE, screenshotTo } from '../support/chromium.js';
import { addVirtualAuthenticator, type VirtualAuthenticator } from '../support/virtual-authenticator.js';
import { startDemoPortal } from '../../src/demo-portal/index.js';
import { demoPortalSigningKey } from '../../src/demo-portal/signing-key.js';
import { accountConsoleLinks } from '../../src/oidc/provider.js';

export { PHONE, PC, eventually, eventually as expectLocator, screenshot } from '../support/chromium.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Debian's Chromium through playwright-core: the one way a test starts a browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export interface BrowserWorld {
  t: TestIdp;
  smtp: SmtpCapture;
  portal: { url: string; close(): Promise<void> };
  browser: Browser;
  close(): Promise<void>;
}

export interface BrowserWorldOptions extends Pick<TestIdpOptions, 'configure'> {
  /** The portal's menu links to the provider's account console (プロフィール変更, ログイン方法変更). */
  accountLinks?: boolean;
  /** The portal is registered as a FAPI 2.0 portal (PAR, private_key_jwt with its key at its /jwks, DPoP), as sakura's demo portal. */
  fapi?: boolean;
}

/**
 * A provider, the demo portal registered with it (client `browser-portal`), a mail catcher and
 * Chromium: what every test in test/browser starts once, in beforeAll. If a part fails to start,
 * the parts already started are closed before the error is thrown.
 */
async function startBrowserWorld(options: BrowserWorldOptions = {}): Promise<BrowserWorld> {
  const started: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    let failure: unknown;
    for (const part of started.splice(0).reverse())
      await part.close().catch((e: unknown) => {
        failure ??= e;
      });
    if (failure) throw failure;
  };
  try {
    const portalPort = await freePort();
    const portalUrl = `http://localhost:${portalPort}`;
    const t = await startMailedTestIdp({
      configure: (c) => {
        c.clients.push(
          registerClient({
            client_id: 'browser-portal',
            ...(options.fapi ? { profile: 'fapi2', jwks_uri: `${portalUrl}/jwks` } : { client_secret: 'browser-portal-secret-0123456789' }),
            redirect_uris: [`${portalUrl}/callback`],
            post_logout_redirect_uris: [`${portalUrl}/`],
            initiate_login_uri: `${portalUrl}/login`,
            scope: 'openid offline_access profile email',
          }),
        );
        options.configure?.(c);
      },
    });
    started.push(t);
    const portal = await startDemoPortal({
      issuer: t.config.issuer,
      clientId: 'browser-portal',
      ...(options.fapi
        ? { fapi: { key: await demoPortalSigningKey(mkdtempSync(path.join(tmpdir(), 'kosmo-portal-key-')), 'browser-portal') } }
        : { clientSecret: 'browser-portal-secret-0123456789' }),
      portalUrl,
      port: portalPort,
      host: '127.0.0.1',
      accountLinks: options.accountLinks ? accountConsoleLinks(t.config.issuer, 'browser-portal') : undefined,
    });
    started.push(portal);
    const browser = await launchChromium();
    started.push(browser);
    return { t, smtp: t.smtp, portal, browser, close: closeAll };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}

/**
 * The browser world of one describe block: started in its beforeAll, closed in its afterAll.
 * The object returned stands for the world inside the tests (reading it earlier is an error).
 */
export function useBrowserWorld(options: BrowserWorldOptions = {}): BrowserWorld {
  let world: BrowserWorld | undefined;
  beforeAll(async () => {
    world = await startBrowserWorld(options);
  });
  afterAll(async () => {
    await world?.close();
  });
  return new Proxy({} as BrowserWorld, {
    get(_target, key) {
      if (!world) throw new Error('the browser world is read before its beforeAll has started it');
      return Reflect.get(world, key);
    },
  });
}

export interface PageOptions {
  /** The browser's language (Accept-Language, navigator.language); null leaves Chromium's own. */
  locale?: string | null;
  /** A virtual platform authenticator (test/support/virtual-authenticator.ts) on the page. */
  authenticator?: boolean;
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
}

/**
 * A fresh context (no cookies) at `viewport`, in Japanese unless told otherwise, and its first page.
 * With DEBUG_PAGES set, the page's console, errors and navigations are logged.
 */
export async function newPage(world: BrowserWorld, viewport?: typeof PHONE, options?: PageOptions & { authenticator?: false }): Promise<OpenedPage>;
export async function newPage(
  world: BrowserWorld,
  viewport: typeof PHONE,
  options: PageOptions & { authenticator: true },
): Promise<OpenedPage & { authenticator: VirtualAuthenticator }>;
export async function newPage(
  world: BrowserWorld,
  viewport = PHONE,
  options: PageOptions = {},
): Promise<OpenedPage & { authenticator?: VirtualAuthenticator }> {
  const locale = options.locale === undefined ? 'ja-JP' : options.locale;
  const context = await world.browser.newContext({ viewport, ...(locale === null ? {} : { locale }) });
  const page = await context.newPage();
  if (process.env.DEBUG_PAGES) {
    page.on('console', (m) => console.log('console', m.text()));
    page.on('pageerror', (e) => console.log('pageerror', e.message));
    page.on('framenavigated', (f) => console.log('nav', f.url()));
  }
  if (!options.authenticator) return { context, page };
  return { context, page, authenticator: await addVirtualAuthenticator(context, page) };
}

/** The portal's top page, then its header's 「ログイン」: the provider's login page. */
export async function openLoginFromPortal(world: BrowserWorld, page: Page): Promise<void> {
  await page.goto(world.portal.url);
  await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
}

/** From the portal's 「ログイン」, types the user ID and password and presses 「ログイン」; what follows is the test's. */
export async function submitPassword(world: BrowserWorld, page: Page, userId: string, password: string): Promise<void> {
  await openLoginFromPortal(world, page);
  await page.getByLabel('ユーザID').fill(userId);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
}

/** Logs in from the portal's 「ログイン」 (password, then the member's TOTP code) and waits for the portal's top page. */
export async function loginAtPortal(world: BrowserWorld, page: Page, userId: string, password: string): Promise<void> {
  await submitPassword(world, page, userId, password);
  await answerTotpChallenge(page, world.portal.url, userId);
  await page.waitForURL(`${world.portal.url}/`);
}

/** From the portal's top page: the member's name, 「ログアウト」, 「ログアウトする」, and back at the portal. */
export async function logoutAtPortal(world: BrowserWorld, page: Page): Promise<void> {
  await page.locator('.account__name').click();
  await page.getByRole('link', { name: 'ログアウト' }).click();
  await page.getByRole('button', { name: 'ログアウトする' }).click();
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

/** The screen as it is now: no serious axe-core violation, on a phone no tap target under 44 px, and its screenshot. */
export async function checkScreen(page: Page, name: string): Promise<void> {
  expect(await seriousA11yViolations(page)).toEqual([]);
  if (page.viewportSize()!.width === PHONE.width) expect({ name, small: await smallTargets(page) }).toEqual({ name, small: [] });
  await shot(page, name);
}

/**
 * With SHOTS_DIR set (never in CI), saves a full-page screenshot there, named after the screen and
 * the viewport, to be looked at beside the manual.
 */
export async function shot(page: Page, name: string): Promise<void> {
  await screenshotTo(process.env.SHOTS_DIR, page, `${name}-${page.viewportSize()!.width}`);
}

/** Every visible interactive element whose box is less than `min` px tall (or wide), as lines. */
export async function smallTargets(page: Page, min = 44): Promise<string[]> {
  const targets = page.locator(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, label:has(input[type=checkbox]), label:has(input[type=radio])',
  );
  const small: string[] = [];
  for (const target of await targets.all()) {
    if (!(await target.isVisible())) continue;
    // A checkbox or radio is tapped through its label, which is measured instead.
    const type = await target.getAttribute('type');
    if ((type === 'checkbox' || type === 'radio') && (await target.evaluate((el) => !!el.closest('label')))) continue;
    const box = await target.boundingBox();
    if (!box) continue;
    if (box.height < min || box.width < min) small.push(`${await describe(target)}: ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}

async function describe(target: Locator): Promise<string> {
  return target.evaluate((el) => `${el.tagName.toLowerCase()} "${(el.textContent || (el as HTMLInputElement).name || '').trim().slice(0, 30)}"`);
}
