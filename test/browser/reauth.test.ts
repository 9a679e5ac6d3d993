import { describe, it, expect as jestExpect } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { useBrowserWorld, newPage, loginAtPortal, answerTotpChallenge, checkScreen, eventually as expect, PHONE, PC } from './harness.js';

/**
 * 「続行するには再度認証してください」 (manual 3-2, 3-6, 3-7) before a sensitive change in the console,
 * and adding a passkey on a device that already holds one (「この端末はすでに登録されています」).
 */
describe('re-authentication and a device registered twice, in Chromium', () => {
  const w = useBrowserWorld({ accountLinks: true });

  /** The last login is older than the console allows while `run` asks for a change (one second). */
  async function loginGetsOld<T>(run: () => Promise<T>): Promise<T> {
    const original = w.t.config.union.account.reauthSeconds;
    w.t.config.union.account.reauthSeconds = 1;
    try {
      await sleep(1500);
      return await run();
    } finally {
      w.t.config.union.account.reauthSeconds = original;
    }
  }

  /** Adds a passkey with 設定 → 登録 → OK on ログイン方法変更. */
  async function addPasskey(page: Page, label: string) {
    await page.locator('#method-passkey').getByRole('link', { name: '設定' }).click();
    await page.getByRole('button', { name: '登録' }).click();
    await expect(page.getByRole('heading', { name: '認証ラベルの登録' })).toBeVisible();
    await page.getByLabel('認証ラベル').fill(label);
    await page.getByRole('button', { name: 'OK' }).click();
    await expect(page.getByText('認証方法を登録しました。')).toBeVisible();
  }

  for (const size of [PHONE, PC]) {
    it(`asks 「続行するには再度認証してください」 with the user ID fixed before パスワードの更新 (${size.width}x${size.height})`, async () => {
      const userId = `reau${size.width}`;
      await w.t.addMember({ userId, name: '再認 花子', email: `${userId}@example.jp` }, { password: 'Reauth-pass-01', onboarded: true });
      const { context, page } = await newPage(w, size);
      await loginAtPortal(w, page, userId, 'Reauth-pass-01');
      await page.goto(`${w.t.url}/account/login-methods`);
      await loginGetsOld(async () => {
        await page.getByRole('link', { name: '更新' }).click();
        await expect(page.getByRole('heading', { name: '続行するには再度認証してください' })).toBeVisible();
      });
      {
        const userIdField = page.getByLabel('ユーザID');
        jestExpect(await userIdField.inputValue()).toBe(userId);
        jestExpect(await userIdField.getAttribute('readonly')).not.toBeNull();
        jestExpect(await page.getByText('KOSMO Webを初めてご利用になる方へ').count()).toBe(0);
        jestExpect(await page.locator('[autocomplete~="webauthn"]').count()).toBe(0);
        await expect(page.getByRole('link', { name: 'ログアウト' })).toBeVisible();
        await expect(page.getByRole('button', { name: '戻る' })).toBeVisible();
        await checkScreen(page, 'reauth-1-password');
        await page.getByLabel('パスワード', { exact: true }).fill('Reauth-pass-01');
        await page.getByRole('button', { name: 'ログイン', exact: true }).click();
        await answerTotpChallenge(page, `${w.t.url}/account/password`, userId);
        await expect(page.getByRole('heading', { name: 'パスワードの更新' })).toBeVisible();
      }
      await context.close();
    });

    it(`says 「この端末はすでに登録されています」 when the device already holds the member's passkey, and re-authenticates with that passkey (${size.width}x${size.height})`, async () => {
      const userId = `twice${size.width}`;
      await w.t.addMember({ userId, name: '二重 次郎', email: `${userId}@example.jp` }, { password: 'Twice-pass-01', onboarded: true });
      const { context, page, authenticator } = await newPage(w, size, { authenticator: true });
      await loginAtPortal(w, page, userId, 'Twice-pass-01');
      await page.goto(`${w.t.url}/account/login-methods`);
      await addPasskey(page, 'この電話');
      // The same device again: the browser refuses (excludeCredentials) and the member learns why.
      await page.locator('#method-passkey').getByRole('link', { name: '設定' }).click();
      await page.getByRole('button', { name: '登録' }).click();
      await expect(page.getByRole('heading', { name: 'この端末はすでに登録されています' })).toBeVisible();
      await expect(page.getByRole('link', { name: '別の端末で登録' })).toBeVisible();
      await expect(page.getByRole('link', { name: 'ログイン方法変更へ' })).toBeVisible();
      await checkScreen(page, 'passkey-already-registered');
      jestExpect(await authenticator.credentials()).toHaveLength(1);

      // Later, 別の端末で登録 asks for a fresh login: the member's own passkey gives it.
      await loginGetsOld(async () => {
        await page.getByRole('link', { name: '別の端末で登録' }).click();
        await expect(page.getByRole('heading', { name: '続行するには再度認証してください' })).toBeVisible();
      });
      await expect(page.getByRole('button', { name: '生体認証でログイン' })).toBeVisible();
      await checkScreen(page, 'reauth-2-passkey');
      await page.getByRole('button', { name: '生体認証でログイン' }).click();
      await expect(page.getByRole('heading', { name: 'セキュリティキーの登録' })).toBeVisible();
      jestExpect(new URL(page.url()).pathname).toBe('/account/factors/passkey/setup');
      await context.close();
    });
  }
});
