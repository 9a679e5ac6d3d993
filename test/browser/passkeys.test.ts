import { describe, it, beforeAll, afterAll, expect as jestExpect } from '@jest/globals';
import { eventually as expect } from '../support/chromium.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestIdp, freePort, type TestIdp } from '../support/idp.js';
import { addVirtualAuthenticator, type VirtualAuthenticator } from '../support/virtual-authenticator.js';
import { startDemoPortal } from '../../src/demo-portal/index.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = process.env.SHOTS_DIR;

describe('passkeys (生体認証) in Chromium with a virtual platform authenticator', () => {
  let t: TestIdp;
  let portal: { url: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    const portalPort = await freePort();
    const portalUrl = `http://localhost:${portalPort}`;
    t = await startTestIdp({
      configure: (c) => {
        c.clients.push({
          client_id: 'passkey-portal', client_secret: 'passkey-portal-secret-0123456789', public: false,
          redirect_uris: [`${portalUrl}/callback`], post_logout_redirect_uris: [`${portalUrl}/`], initiate_login_uri: `${portalUrl}/login`,
          scope: 'openid offline_access profile email',
        });
      },
    });
    portal = await startDemoPortal({ issuer: t.config.issuer, clientId: 'passkey-portal', clientSecret: 'passkey-portal-secret-0123456789', portalUrl, port: portalPort, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await portal?.close();
    await t?.close();
  });

  /** A member who chose 生体認証 and has no passkey yet (a first login, or after 初期化). */
  async function passkeyMember(userId: string, password: string, name = '生体 花子') {
    await t.addMember({ userId, name }, { password });
    await t.idp.sql.run(`update member set pending_steps = '{}', temporary_id = false, terms_version = $2, terms_accepted_at = now(), chosen_factor = 'passkey' where user_id = $1`, [userId, t.config.terms.version]);
  }
  async function open(size: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; authenticator: VirtualAuthenticator }> {
    const context = await browser.newContext({ viewport: size, locale: 'ja-JP' });
    const page = await context.newPage();
    const authenticator = await addVirtualAuthenticator(context, page);
    if (process.env.DEBUG_PAGES) { page.on('console', (m) => console.log('console', m.text())); page.on('pageerror', (e) => console.log('pageerror', e.message)); page.on('framenavigated', (f) => console.log('nav', f.url())); }
    return { context, page, authenticator };
  }
  async function passwordLogin(page: Page, userId: string, password: string) {
    await page.goto(portal.url);
    await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
    await page.getByLabel('ユーザID').fill(userId);
    await page.getByLabel('パスワード').fill(password);
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
  }
  const shot = async (page: Page, name: string) => { if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true }); };
  const passkeysOf = (userId: string) => t.idp.sql.rows<{ label: string; sign_count: string; transports: string[]; backed_up: boolean | null; last_used_at: string | null; webauthn_id: string }>(
    `select c.label, c.sign_count, c.transports, c.backed_up, c.last_used_at, c.webauthn_id from credential c join member m on m.id = c.member_id where m.user_id = $1 and c.kind = 'passkey' order by c.created_at`, [userId]);

  for (const size of [{ width: 390, height: 844 }, { width: 1280, height: 800 }]) {
    it(`registers a passkey inside the first login, names it, and logs in with it after the password (${size.width}x${size.height})`, async () => {
      const userId = `pk${size.width}`;
      await passkeyMember(userId, 'Passkey-pass-1');
      const { context, page, authenticator } = await open(size);
      await passwordLogin(page, userId, 'Passkey-pass-1');
      await expect(page.getByRole('heading', { name: 'セキュリティキーの登録' })).toBeVisible();
      await shot(page, `passkey-1-register-${size.width}`);
      await page.getByRole('button', { name: '登録' }).click();
      await expect(page.getByRole('heading', { name: '認証ラベルの登録' })).toBeVisible();
      // The virtual authenticator's AAGUID is not a known product: the manual's generic name is proposed.
      await expect(page.getByLabel('認証ラベル')).toHaveValue('パスキー');
      await shot(page, `passkey-2-label-${size.width}`);
      await page.getByLabel('認証ラベル').fill('テスト端末');
      await page.getByRole('button', { name: 'OK' }).click();
      await page.waitForURL(`${portal.url}/`);
      await expect(page.locator('.account__name')).toHaveText('生体 花子');
      await shot(page, `passkey-3-portal-${size.width}`);
      const stored = await passkeysOf(userId);
      jestExpect(stored).toHaveLength(1);
      jestExpect(stored[0]).toMatchObject({ label: 'テスト端末', transports: ['internal'] });
      jestExpect((await authenticator.credentials()).map((c) => c.isResidentCredential)).toEqual([true]);

      // Log out, then in again: password, then the passkey (次へ). With passkey-only login switched
      // off in union.json, the login page offers no passkey of its own.
      await page.locator('.account__name').click();
      await page.getByRole('link', { name: 'ログアウト' }).click();
      await page.getByRole('button', { name: 'ログアウトする' }).click();
      await page.waitForURL(`${portal.url}/`);
      t.config.union.passkeys.passkeyOnlyLogin = false;
      try {
        await passwordLogin(page, userId, 'Passkey-pass-1');
        jestExpect(await page.getByRole('button', { name: '生体認証でログイン' }).count()).toBe(0);
      } finally {
        t.config.union.passkeys.passkeyOnlyLogin = true;
      }
      await expect(page.getByRole('heading', { name: '生体認証' })).toBeVisible();
      await expect(page.getByText('テスト端末')).toBeVisible();
      await shot(page, `passkey-4-login-${size.width}`);
      await page.getByRole('button', { name: '次へ' }).click();
      await page.waitForURL(`${portal.url}/`);
      await expect(page.locator('.account__name')).toHaveText('生体 花子');
      const used = await passkeysOf(userId);
      jestExpect(used[0]!.last_used_at).not.toBeNull();
      await context.close();
    });
  }

  it('shows 「セキュリティキーの登録が無効です」 with what to do when a passkey we do not hold answers (FAQ Q16)', async () => {
    await passkeyMember('pkinvalid', 'Passkey-pass-5');
    const { context, page } = await open({ width: 390, height: 844 });
    await passwordLogin(page, 'pkinvalid', 'Passkey-pass-5');
    await page.getByRole('button', { name: '登録' }).click();
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(`${portal.url}/`);
    await context.clearCookies();
    t.config.union.passkeys.passkeyOnlyLogin = false;
    try {
      await passwordLogin(page, 'pkinvalid', 'Passkey-pass-5');
      await expect(page.getByRole('heading', { name: '生体認証' })).toBeVisible();
      // An authenticator answers with a credential this member does not have (another device's, or deleted).
      await page.evaluate(() => {
        const form = document.querySelector<HTMLFormElement>('form[data-passkey]')!;
        const options = JSON.parse(form.dataset.options!) as { challenge: string };
        const b64 = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        const clientDataJSON = b64(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: location.origin }));
        (form.elements.namedItem('response') as HTMLInputElement).value = JSON.stringify({
          id: 'dW5rbm93bg', rawId: 'dW5rbm93bg', type: 'public-key', clientExtensionResults: {},
          response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA' },
        });
        form.submit();
      });
      await expect(page.getByRole('heading', { name: 'セキュリティキーの登録が無効です' })).toBeVisible();
      await expect(page.getByText('端末にパスワード管理アプリ（iCloudキーチェーン、Googleパスワードマネージャーなど）が入っているか確認してください。')).toBeVisible();
      await shot(page, 'passkey-7-invalid-390');
      // 「再試行してください」 goes back to the passkey page, and the real passkey still works.
      await page.getByRole('link', { name: '再試行してください' }).click();
      await page.getByRole('button', { name: '次へ' }).click();
      await page.waitForURL(`${portal.url}/`);
    } finally {
      t.config.union.passkeys.passkeyOnlyLogin = true;
    }
    await context.close();
  });

  it('shows the retry screen when the ceremony is cancelled, and 「再試行してください」 starts it again', async () => {
    await passkeyMember('pkcancel1', 'Passkey-pass-2');
    const { context, page, authenticator } = await open({ width: 390, height: 844 });
    await authenticator.setUserVerified(false);
    await passwordLogin(page, 'pkcancel1', 'Passkey-pass-2');
    await page.getByRole('button', { name: '登録' }).click();
    await expect(page.getByRole('heading', { name: '生体認証を完了できませんでした' })).toBeVisible();
    await shot(page, 'passkey-5-retry-390');
    jestExpect(await passkeysOf('pkcancel1')).toHaveLength(0);
    await authenticator.setUserVerified(true);
    await page.getByRole('link', { name: '再試行してください' }).click();
    await page.getByRole('button', { name: '登録' }).click();
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(`${portal.url}/`);
    jestExpect((await passkeysOf('pkcancel1')).map((p) => p.label)).toEqual(['パスキー']);
    await context.close();
  });

  it('logs in with the passkey alone from the user-ID field\'s autofill (conditional mediation)', async () => {
    await passkeyMember('pkfill001', 'Passkey-pass-4', '自動 三郎');
    const { context, page } = await open({ width: 390, height: 844 });
    await passwordLogin(page, 'pkfill001', 'Passkey-pass-4');
    await page.getByRole('button', { name: '登録' }).click();
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(`${portal.url}/`);
    await context.clearCookies();
    // The login page starts a conditional request; Chromium's virtual authenticator answers it as
    // a member picking the passkey offered under the user-ID field would.
    await page.goto(portal.url);
    await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
    await page.waitForURL(`${portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('自動 三郎');
    const events = await t.idp.sql.rows<{ type: string }>(`select type from member_event e join member m on m.id = e.member_id where m.user_id = 'pkfill001' order by e.id desc limit 2`);
    // No password in this login: the passkey alone.
    jestExpect(events.map((e) => e.type)).toEqual(['login.completed', 'login.passkey_ok']);
    await context.close();
  });

  it('logs in with the passkey alone from 「生体認証でログイン」, and refuses it once the passkey is deleted', async () => {
    await passkeyMember('pkalone01', 'Passkey-pass-3', '単独 次郎');
    const { context, page } = await open({ width: 1280, height: 800 });
    // A browser without passkey autofill: only the button offers the passkey.
    await context.addInitScript(() => { (window as unknown as { PublicKeyCredential: { isConditionalMediationAvailable: () => Promise<boolean> } }).PublicKeyCredential.isConditionalMediationAvailable = async () => false; });
    await passwordLogin(page, 'pkalone01', 'Passkey-pass-3');
    await page.getByRole('button', { name: '登録' }).click();
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(`${portal.url}/`);
    await context.clearCookies();

    await page.goto(portal.url);
    await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
    await expect(page.getByRole('button', { name: '生体認証でログイン' })).toBeVisible();
    jestExpect(await page.getByLabel('ユーザID').getAttribute('autocomplete')).toBe('username webauthn');
    await shot(page, 'passkey-6-login-page-1280');
    await page.getByRole('button', { name: '生体認証でログイン' }).click();
    await page.waitForURL(`${portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('単独 次郎');
    const events = await t.idp.sql.rows<{ type: string }>(`select type from member_event e join member m on m.id = e.member_id where m.user_id = 'pkalone01' order by e.id desc limit 2`);
    jestExpect(events.map((e) => e.type)).toEqual(['login.completed', 'login.passkey_ok']);

    // 初期化 by an administrator: the authenticator still holds the passkey, we no longer do.
    await t.idp.sql.run(`delete from credential where kind = 'passkey' and member_id = (select id from member where user_id = 'pkalone01')`);
    await context.clearCookies();
    await page.goto(portal.url);
    await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
    await page.getByRole('button', { name: '生体認証でログイン' }).click();
    await expect(page.getByText('生体認証でログインできませんでした。')).toBeVisible();
    jestExpect(page.url()).toContain('/interaction/');
    await context.close();
  });
});

