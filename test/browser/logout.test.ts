import { describe, it, expect } from '@jest/globals';
import { useBrowserWorld, newPage, loginAtPortal, logoutAtPortal, seriousA11yViolations, shot, expectLocator, PHONE, PC } from './harness.js';

describe('logging out at the demo portal, in Chromium', () => {
  const w = useBrowserWorld();

  for (const viewport of [PHONE, PC]) {
    it(`「ポータルに戻る」 on the confirmation keeps the member logged in, at the portal and at the provider (${viewport.width} px)`, async () => {
      const userId = await w.t.addMember(
        { userId: `stay${viewport.width}`, name: '継続 花子', email: `stay${viewport.width}@example.jp` },
        { password: 'Stay-pass-1', onboarded: true },
      );
      const { context, page } = await newPage(w, viewport);
      await loginAtPortal(w, page, userId, 'Stay-pass-1');
      await page.locator('.account__name').click();
      await page.getByRole('link', { name: 'ログアウト' }).click();
      await expectLocator(page.getByText('ログアウトしてもよろしいですか？')).toBeVisible();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await shot(page, 'logout-confirm');
      await page.getByRole('button', { name: 'ポータルに戻る' }).click();

      await page.waitForURL(`${w.portal.url}/`);
      await expectLocator(page.locator('.account__name')).toHaveText('継続 花子');
      await expectLocator(page.getByRole('status')).toContainText('ログアウトは行われませんでした。ログインしたままです。');
      expect(await page.locator('header').getByRole('link', { name: 'ログイン' }).count()).toBe(0);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await shot(page, 'portal-logout-cancelled');
      // The portal's new tokens work (the claims page fetches UserInfo with them).
      await page.goto(`${w.portal.url}/claims`);
      await expectLocator(page.getByRole('heading', { name: 'IDトークンの内容' })).toBeVisible();
      await context.close();
    });

    it(`「ログアウトする」 logs the member out everywhere: the next 「ログイン」 asks for the password (${viewport.width} px)`, async () => {
      const userId = await w.t.addMember(
        { userId: `leave${viewport.width}`, name: '退出 太郎', email: `leave${viewport.width}@example.jp` },
        { password: 'Leave-pass-1', onboarded: true },
      );
      const { context, page } = await newPage(w, viewport);
      await loginAtPortal(w, page, userId, 'Leave-pass-1');
      await logoutAtPortal(w, page);
      await expectLocator(page.getByRole('status')).toContainText('ログアウトしました。');
      await expectLocator(page.locator('header').getByRole('link', { name: 'ログイン' })).toBeVisible();
      expect(await page.locator('.account__name').count()).toBe(0);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await shot(page, 'portal-logged-out');
      // The next person at this PC presses 「ログイン」 and gets the login screen, not the member's portal.
      await page.locator('header').getByRole('link', { name: 'ログイン' }).click();
      await expectLocator(page.getByLabel('パスワード', { exact: true })).toBeVisible();
      expect(new URL(page.url()).origin).toBe(w.t.url);
      await context.close();
    });
  }
});
