import { describe, it, expect } from '@jest/globals';
import type { Page } from 'playwright-core';
import { useBrowserWorld, newPage, submitPassword, logoutAtPortal, checkScreen as check, expectLocator, PHONE, PC } from './harness.js';
import { mailedCode } from '../support/factors.js';
import { totpCodeAt } from '../../src/factors/totp/codes.js';

/** Each second factor from the portal's 「ログイン」 to the portal, at a phone size and a PC size. */
describe('second factors in Chromium, from the demo portal', () => {
  const w = useBrowserWorld();

  /** A member who chose `factor` and has nothing set up yet (the first login, or after 初期化). */
  async function member(userId: string, factor: 'totp' | 'email', name: string) {
    await w.t.addMember({ userId, name, email: `${userId}@example.jp` }, { password: 'Second-pass-1', onboarded: true, factor, totpDevices: [] });
  }
  const password = (page: Page, userId: string) => submitPassword(w, page, userId, 'Second-pass-1');

  for (const viewport of [PHONE, PC]) {
    it(`sets up an authenticator app inside the login, by typing the key, and logs in with its codes (${viewport.width} px)`, async () => {
      const userId = `otpapp${viewport.width}`;
      await member(userId, 'totp', 'アプリ 花子');
      const { context, page } = await newPage(w, viewport);
      await password(page, userId);
      // Not the first login (the member had logged in before the 初期化): the confirmed address first.
      await expectLocator(page.getByText('新しい認証方法を登録する前に、ご本人であることを確認します。')).toBeVisible();
      await check(page, 'factor-address-before-setup');
      const proof = await w.smtp.waitFor((m) => m.to.includes(`${userId}@example.jp`));
      await page.getByLabel('ワンタイムパスワード').fill(mailedCode(proof.text));
      await page.getByRole('button', { name: '実行' }).click();
      await expectLocator(page.getByRole('heading', { name: 'ワンタイムパスワードの設定' })).toBeVisible();
      await expectLocator(page.getByRole('img', { name: 'ワンタイムパスワード設定用のQRコード' })).toBeVisible();
      await check(page, 'factor-totp-setup');
      // 「スキャンできませんか?」 shows the key to type into the app (manual 2-4-1 steps 8-11, FAQ Q20).
      await page.getByText('スキャンできませんか?').click();
      const key = (await page.locator('.secret-key code').textContent())!.replace(/\s/g, '');
      expect(key).toMatch(/^[A-Z2-7]{32}$/);
      await check(page, 'factor-totp-setup-key');
      await page.getByRole('textbox', { name: 'ワンタイムパスワード' }).fill('000000');
      await page.getByLabel('デバイス名').fill('個人用');
      await page.getByRole('button', { name: '実行' }).click();
      await expectLocator(page.getByText('認証コードが異なります。')).toBeVisible();
      await check(page, 'factor-totp-setup-error');
      await page.getByRole('textbox', { name: 'ワンタイムパスワード' }).fill(await totpCodeAt(key, Date.now() / 1000));
      await page.getByRole('button', { name: '実行' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await expectLocator(page.locator('.account__name')).toHaveText('アプリ 花子');
      await check(page, 'factor-totp-portal');

      await logoutAtPortal(w, page);
      await password(page, userId);
      await expectLocator(page.getByRole('heading', { name: 'ワンタイムパスワードの入力' })).toBeVisible();
      await check(page, 'factor-totp-login');
      // The next step's code (the app is one step ahead of the code used for the setup).
      await page.getByLabel('ワンタイムパスワード').fill(await totpCodeAt(key, Date.now() / 1000 + 30));
      await page.getByRole('button', { name: 'トップページへ' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await expectLocator(page.locator('.account__name')).toHaveText('アプリ 花子');
      await context.close();
    });

    it(`logs in with a code mailed to the confirmed address, after a 再送信 that waits for its cooldown (${viewport.width} px)`, async () => {
      const userId = `otpmail${viewport.width}`;
      await member(userId, 'email', 'メール 太郎');
      const { context, page } = await newPage(w, viewport);
      await password(page, userId);
      await expectLocator(page.getByRole('heading', { name: 'メール認証' })).toBeVisible();
      await check(page, 'factor-email');
      await page.getByRole('button', { name: '再送信' }).click();
      await expectLocator(page.getByText(/再送信は\d+秒後にできます/)).toBeVisible();
      await check(page, 'factor-email-cooldown');
      const mail = await w.smtp.waitFor((m) => m.to.includes(`${userId}@example.jp`));
      await page.getByLabel('ワンタイムパスワード').fill(mailedCode(mail.text));
      await page.getByRole('button', { name: '実行' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await expectLocator(page.locator('.account__name')).toHaveText('メール 太郎');
      await check(page, 'factor-email-portal');
      await context.close();
    });
  }
});
