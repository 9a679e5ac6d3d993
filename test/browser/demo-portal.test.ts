import { describe, it, beforeAll, afterAll } from '@jest/globals';
import { eventually as expect } from '../support/chromium.js';
import { chromium, type Browser } from 'playwright-core';
import { startTestIdp, freePort, totpApp, type TestIdp } from '../support/idp.js';
import { mailedCode } from '../support/factors.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp-capture.js';
import { startDemoPortal } from '../../src/demo-portal/index.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('a member in Chromium, through the demo portal', () => {
  let t: TestIdp;
  let smtp: SmtpCapture;
  let portal: { url: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    const portalPort = await freePort();
    const portalUrl = `http://localhost:${portalPort}`;
    t = await startTestIdp({
      env: { SMTP_URL: smtp.url },
      configure: (c) => {
        c.clients.push({
          client_id: 'browser-portal', client_secret: 'browser-portal-secret-0123456789', public: false,
          redirect_uris: [`${portalUrl}/callback`], post_logout_redirect_uris: [`${portalUrl}/`], initiate_login_uri: `${portalUrl}/login`,
          scope: 'openid offline_access profile email',
        });
      },
    });
    portal = await startDemoPortal({ issuer: t.config.issuer, clientId: 'browser-portal', clientSecret: 'browser-portal-secret-0123456789', portalUrl, port: portalPort, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await portal?.close();
    await t?.close();
    await smtp?.close();
  });

  it('logs in with the user ID and password and logs out through the confirmation screen', async () => {
    await t.addMember({ userId: 'chrome001', name: '画面 花子', email: 'chrome@example.jp' }, { password: 'Chrome-pass-1', onboarded: true });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(portal.url);
    await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
    await page.getByLabel('ユーザID').fill('CHROME001');
    await page.getByLabel('パスワード').fill('Chrome-pass-1');
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    // ワンタイムパスワードの入力: the member has several devices and chooses one by its name.
    const device = totpApp('chrome001')!.pick();
    await page.getByLabel(device.label!).check();
    await page.getByLabel('ワンタイムパスワード').fill(await device.nextCode());
    await page.getByRole('button', { name: 'トップページへ' }).click();
    await page.waitForURL(`${portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('画面 花子');

    await page.locator('.account__name').click();
    await page.getByRole('link', { name: 'ログアウト' }).click();
    await expect(page.getByText('ログアウトしてもよろしいですか？')).toBeVisible();
    await page.getByRole('button', { name: 'ログアウトする' }).click();
    await page.waitForURL(`${portal.url}/`);
    await expect(page.locator('header').getByRole('link', { name: 'ログイン' })).toBeVisible();
    await context.close();
  });

  it('walks a provisioned member from the initial password to the portal', async () => {
    await t.addMember({ userId: 'chrome002', symbol: '12', number: '3456789', birthdate: '1980-12-01', name: '初回 太郎', email: 'first@example.jp' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${portal.url}/login`);
    await page.getByLabel('ユーザID').fill('chrome002');
    await page.getByLabel('パスワード').fill('12345678919801201');
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();

    await page.getByLabel('生年月日').fill('19801201');
    await page.getByRole('button', { name: '実行' }).click();
    await page.getByRole('button', { name: '同意する' }).click();
    await expect(page.getByLabel('メールアドレス')).toHaveValue('first@example.jp');
    await page.getByRole('button', { name: '実行' }).click();
    await expect(page.getByRole('heading', { name: 'メール認証' })).toBeVisible();

    // The verification link is opened from the mail, in another tab.
    const mail = await smtp.waitFor((m) => m.to.includes('first@example.jp'));
    const mailTab = await context.newPage();
    await mailTab.goto(mail.links.find((l) => l.includes('/verify-email/'))!);
    await mailTab.getByRole('button', { name: 'メールアドレスを確認する' }).click();
    await expect(mailTab.getByRole('heading', { name: 'メールアドレスを確認しました' })).toBeVisible();
    await mailTab.close();

    // ブラウザに戻る: the original tab continues when refreshed.
    await page.getByRole('link', { name: '更新' }).click();
    await page.getByLabel('ユーザID').fill('First.Taro');
    await page.getByLabel('ワンタイムパスワード (OTP) メール認証').check();
    await page.getByRole('button', { name: '実行' }).click();
    await page.getByLabel('パスワード', { exact: true }).fill('Taro-own-pass1');
    await page.getByLabel('パスワード確認用').fill('Taro-own-pass1');
    await page.getByRole('button', { name: '送信' }).click();
    // メール認証 is set up right away: the code mailed to the confirmed address (manual 2-4-5).
    await expect(page.getByRole('heading', { name: 'メール認証' })).toBeVisible();
    const codeMail = await smtp.waitFor((m) => m.to.includes('first@example.jp') && m.subject.includes('ワンタイムパスワード'));
    await page.getByLabel('ワンタイムパスワード').fill(mailedCode(codeMail.text));
    await page.getByRole('button', { name: '実行' }).click();
    await page.getByRole('link', { name: 'ポータルへ進む' }).click();
    await page.waitForURL(`${portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('初回 太郎');
    await context.close();
  });
});

