import { describe, it, expect } from '@jest/globals';
import type { Page } from 'playwright-core';
import { totpApp } from '../support/factors.js';
import { useBrowserWorld, newPage, submitPassword, checkScreen as check, expectLocator, PHONE, PC } from './harness.js';

/** Where a first login used to strand members: the birth-date lock, 「更新」 too early, declining the terms. */
describe('the first-login steps in Chromium', () => {
  const w = useBrowserWorld();

  async function startFirstLogin(page: Page, userId: string): Promise<void> {
    await submitPassword(w, page, userId, '12345678919801201');
    await expectLocator(page.getByRole('heading', { name: '生年月日の入力' })).toBeVisible();
  }
  const wrongBirthdate = async (page: Page) => {
    await page.getByLabel('生年月日').fill('19991231');
    await page.getByRole('button', { name: '実行' }).click();
    await page.waitForLoadState();
  };

  for (const viewport of [PHONE, PC]) {
    const v = viewport.width;

    it(`the birth date says how many tries remain, offers 「ポータルに戻る」, and the lock says how long and whom to ask (${v} px)`, async () => {
      const userId = await w.t.addMember({ userId: `bday${v}`, symbol: '12', number: '3456789', birthdate: '1980-12-01', email: `bday${v}@example.jp` });
      const { context, page } = await newPage(w, viewport);
      await startFirstLogin(page, userId);
      await expectLocator(page.getByText('生年月日を5回続けて間違えると、アカウントが一時的にロックされます。')).toBeVisible();
      await check(page, 'step-birthdate');
      for (let i = 0; i < 2; i++) {
        await wrongBirthdate(page);
        await expectLocator(page.locator('#form-errors')).toHaveText('生年月日が正しくありません。');
      }
      await wrongBirthdate(page);
      await expectLocator(page.locator('#form-errors')).toHaveText('生年月日が正しくありません。あと2回間違えると、アカウントがロックされます。');
      await wrongBirthdate(page);
      await expectLocator(page.locator('#form-errors')).toHaveText('生年月日が正しくありません。あと1回間違えると、アカウントがロックされます。');
      await check(page, 'step-birthdate-last-try');
      await wrongBirthdate(page);
      await expectLocator(page.getByRole('heading', { name: 'ログイン' })).toBeVisible();
      await expectLocator(page.locator('#form-errors')).toHaveText(
        'アカウントがロックされているため、ログインできません。ロックは約5分後に解除されますので、時間をおいてから再度お試しください。お急ぎの場合は、コスモ健康保険組合までお問い合わせください。',
      );
      await check(page, 'login-locked');
      // The password again while locked: the same message, with the time that is left.
      await page.getByLabel('パスワード', { exact: true }).fill('12345678919801201');
      await page.getByRole('button', { name: 'ログイン', exact: true }).click();
      await expectLocator(page.locator('#form-errors')).toContainText('ロックは約5分後に解除されます');
      await context.close();

      // 「ポータルに戻る」 from the birth-date step.
      const other = await w.t.addMember({ userId: `bdayback${v}`, symbol: '12', number: '3456789', birthdate: '1980-12-01' });
      const second = await newPage(w, viewport);
      await startFirstLogin(second.page, other);
      await second.page.getByRole('button', { name: 'ポータルに戻る' }).click();
      await second.page.waitForURL(`${w.portal.url}/`);
      await expectLocator(second.page.getByRole('status')).toHaveText('ログインは行われませんでした。');
      await second.context.close();
    });

    it(`「更新」 before the link was used says so and keeps 「確認メールを送信しました。」 (${v} px)`, async () => {
      const userId = await w.t.addMember({ userId: `mail${v}`, symbol: '12', number: '3456789', birthdate: '1980-12-01', email: `mail${v}@example.jp` });
      const { context, page } = await newPage(w, viewport);
      await startFirstLogin(page, userId);
      await page.getByLabel('生年月日').fill('19801201');
      await page.getByRole('button', { name: '実行' }).click();
      await page.getByRole('button', { name: '同意する' }).click();
      await page.getByRole('button', { name: '実行' }).click();
      await expectLocator(page.getByRole('status')).toHaveText('確認メールを送信しました。');
      await page.getByRole('link', { name: '更新' }).click();
      await expectLocator(page.locator('#form-errors')).toContainText('まだメールアドレスの確認が完了していません');
      await expectLocator(page.getByRole('status')).toHaveText('確認メールを送信しました。');
      await check(page, 'step-email-not-yet');
      await context.close();
    });

    it(`「同意しない」 asks first, and the portal says why no login happened, also for updated terms (${v} px)`, async () => {
      const userId = await w.t.addMember({ userId: `terms${v}`, symbol: '12', number: '3456789', birthdate: '1980-12-01' });
      const { context, page } = await newPage(w, viewport);
      await startFirstLogin(page, userId);
      await page.getByLabel('生年月日').fill('19801201');
      await page.getByRole('button', { name: '実行' }).click();
      await expectLocator(page.getByRole('button', { name: '同意する' })).toBeVisible();
      const confirm = page.getByRole('button', { name: '同意せずにポータルに戻る' });
      expect(await confirm.isVisible()).toBe(false);
      await page.getByText('同意しない', { exact: true }).click();
      await expectLocator(page.getByText('同意しない場合はログインできません。')).toBeVisible();
      await check(page, 'step-terms-decline');
      await confirm.click();
      await page.waitForURL(`${w.portal.url}/`);
      await expectLocator(page.getByRole('status')).toContainText('利用規約に同意されなかったため、ログインは行われませんでした。');
      await check(page, 'portal-terms-declined');
      await context.close();

      // 3-9: an onboarded member whose accepted terms are older.
      const updated = await w.t.addMember({ userId: `reterms${v}` }, { password: 'Reterms-pass-1', onboarded: true, totpDevices: ['個人用'] });
      await w.t.idp.sql.run(`update member set terms_version = '2000-01-01' where user_id = $1`, [updated]);
      const again = await newPage(w, viewport);
      await submitPassword(w, again.page, updated, 'Reterms-pass-1');
      // The second factor first (3-9): nothing beyond the password is shown before it.
      await expectLocator(again.page.getByRole('heading', { name: 'ワンタイムパスワードの入力' })).toBeVisible();
      await again.page.getByLabel('ワンタイムパスワード').fill(await totpApp(updated)!.nextCode());
      await again.page.getByRole('button', { name: 'トップページへ' }).click();
      await expectLocator(again.page.getByText('利用規約が更新されました。')).toBeVisible();
      await again.page.getByText('同意しない', { exact: true }).click();
      await again.page.getByRole('button', { name: '同意せずにポータルに戻る' }).click();
      await again.page.waitForURL(`${w.portal.url}/`);
      await expectLocator(again.page.getByRole('status')).toContainText('利用規約に同意されなかったため');
      await again.context.close();
    });
  }
});
