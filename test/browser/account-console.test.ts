import { describe, it, expect } from '@jest/globals';
import { totpCodeAt } from '../../src/factors/totp/codes.js';
import { useBrowserWorld, newPage, loginAtPortal, eventually, screenshot, PC, PHONE } from './harness.js';

describe('the account console in Chromium, from the demo portal', () => {
  const w = useBrowserWorld({ accountLinks: true });

  it('on a phone: プロフィール変更 from the portal, the ☰ menu, a new user ID and English, ポータルに戻る', async () => {
    await w.t.addMember({ userId: 'phone0001', name: '電話 花子', email: 'phone0001@example.jp' }, { password: 'Phone-pass-01', onboarded: true });
    // Chromium's own language here (no locale set for the context), as in the PC test below.
    const { context, page } = await newPage(w, PHONE, { locale: null });
    await loginAtPortal(w, page, 'phone0001', 'Phone-pass-01');
    await page.goto((await page.locator('a', { hasText: 'プロフィール変更' }).first().getAttribute('href'))!);
    await eventually(page.getByRole('heading', { name: 'プロフィール' })).toBeVisible();
    await screenshot(page, 'console-profile-phone');
    // On a phone the sections are in the ☰ menu, not in tabs.
    expect(await page.locator('.account-tabs').isVisible()).toBe(false);
    await page.locator('.account-menu summary').click();
    await eventually(page.locator('.account-menu').getByRole('link', { name: 'ログイン方法変更' })).toBeVisible();
    const box = await page.locator('.account-menu summary').boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);
    await page.locator('.account-menu summary').click();

    await page.locator('select#locale').selectOption('en');
    await page.getByLabel('ユーザID').fill('Phone.New01');
    await page.getByRole('button', { name: '変更' }).click();
    await eventually(page.getByText('Your profile was updated.')).toBeVisible();
    await eventually(page.getByLabel('User ID')).toHaveValue('phone.new01');
    await screenshot(page, 'console-profile-saved-phone');
    await page.getByRole('link', { name: 'Back to the portal' }).first().click();
    await page.waitForURL(`${w.portal.url}/`);
    await context.close();
  });

  it('on a PC: ログイン方法変更 in the top navigation, パスワードの更新 with a new 作成日, and this device listed', async () => {
    await w.t.addMember({ userId: 'pc000001', name: '机上 太郎', email: 'pc000001@example.jp' }, { password: 'Desk-pass-001', onboarded: true });
    const { context, page } = await newPage(w, PC, { locale: null });
    await loginAtPortal(w, page, 'pc000001', 'Desk-pass-001');
    // The password was made a year and a half ago.
    await w.t.idp.sql.run(
      `update credential set created_at = '2025-04-01T03:00:00Z' where kind = 'password' and member_id = (select id from member where user_id = 'pc000001')`,
    );
    await page.goto((await page.locator('a', { hasText: 'ログイン方法変更' }).first().getAttribute('href'))!);
    await eventually(page.getByRole('heading', { name: 'ログイン方法変更', level: 1 })).toBeVisible();
    await eventually(page.getByText('作成日 2025年4月1日 12:00')).toBeVisible();
    expect(await page.locator('.account-menu summary').isVisible()).toBe(false);
    await eventually(page.locator('.account-tabs').getByRole('link', { name: 'プロフィール変更' })).toBeVisible();
    await eventually(page.getByText('この端末')).toBeVisible();
    await screenshot(page, 'console-methods-pc');
    await page.getByRole('link', { name: '更新' }).click();
    await eventually(page.getByRole('heading', { name: 'パスワードの更新' })).toBeVisible();
    await page.getByLabel('パスワード', { exact: true }).fill('Desk-pass-002');
    await page.getByLabel('パスワード確認用').fill('Desk-pass-002');
    await screenshot(page, 'console-password-pc');
    await page.getByRole('button', { name: '実行' }).click();
    await eventually(page.getByText('パスワードを更新しました。')).toBeVisible();
    // The new password's 作成日 is today (Japan time).
    const today = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'long' }).format(new Date());
    await eventually(page.getByText(new RegExp(`^作成日 ${today} \\d{1,2}:\\d{2}$`))).toBeVisible();
    await w.smtp.waitFor((m) => m.to.includes('pc000001@example.jp') && m.text.includes('パスワードが変更されました'));
    await context.close();
  });

  it("on a PC: the portal's header links are at least 44 px tall, and both sites answer /favicon.ico with the icon", async () => {
    await w.t.addMember({ userId: 'header01', name: '見出 花子', email: 'header01@example.jp' }, { password: 'Header-pass-01', onboarded: true });
    const { context, page } = await newPage(w, PC);
    await loginAtPortal(w, page, 'header01', 'Header-pass-01');
    const targets = page.locator('header a, header summary');
    const heights: string[] = [];
    for (const target of await targets.all()) {
      if (!(await target.isVisible())) continue;
      const box = (await target.boundingBox())!;
      if (box.height < 44) heights.push(`${(await target.textContent())!.trim()}: ${Math.round(box.height)} px`);
    }
    expect(heights).toEqual([]);
    await screenshot(page, 'portal-header-pc');
    for (const site of [w.portal.url, w.t.url]) {
      const icon = await page.request.get(`${site}/favicon.ico`);
      expect({ site, status: icon.status(), type: icon.headers()['content-type'] }).toEqual({ site, status: 200, type: 'image/svg+xml' });
    }
    expect(await page.locator('link[rel=icon]').getAttribute('href')).toBe('/static/favicon.svg');
    await context.close();
  });

  for (const size of [PHONE, PC]) {
    it(`adds a passkey with 設定, renames it and deletes it, and adds an authenticator app (${size.width}x${size.height})`, async () => {
      const userId = `pkc${size.width}`;
      await w.t.addMember({ userId, name: '設定 花子', email: `${userId}@example.jp` }, { password: 'Console-pk-01', onboarded: true });
      const { context, page, authenticator } = await newPage(w, size, { authenticator: true });
      await loginAtPortal(w, page, userId, 'Console-pk-01');
      await page.goto(`${w.t.url}/account/login-methods`);
      await page.locator('#method-passkey').getByRole('link', { name: '設定' }).click();
      await eventually(page.getByRole('heading', { name: 'セキュリティキーの登録' })).toBeVisible();
      await screenshot(page, `console-passkey-register-${size.width}`);
      await page.getByRole('button', { name: '登録' }).click();
      await eventually(page.getByRole('heading', { name: '認証ラベルの登録' })).toBeVisible();
      await page.getByLabel('認証ラベル').fill('わたしのスマホ');
      await page.getByRole('button', { name: 'OK' }).click();
      await eventually(page.getByText('認証方法を登録しました。')).toBeVisible();
      await eventually(page.locator('#method-passkey')).toContainText('わたしのスマホ');
      expect(await authenticator.credentials()).toHaveLength(1);
      await screenshot(page, `console-passkey-added-${size.width}`);

      await page.locator('#method-passkey').getByRole('link', { name: '名前の変更' }).click();
      await page.getByLabel('デバイス名').fill('家族共用の端末');
      await page.getByRole('button', { name: '実行' }).click();
      await eventually(page.getByText('名前を変更しました。')).toBeVisible();
      await eventually(page.locator('#method-passkey')).toContainText('家族共用の端末');

      await page.locator('#method-passkey').getByRole('link', { name: '削除' }).click();
      await eventually(page.getByText('家族共用の端末')).toBeVisible();
      await screenshot(page, `console-passkey-delete-${size.width}`);
      await page.getByRole('button', { name: '削除する' }).click();
      await eventually(page.getByText('削除しました。')).toBeVisible();
      expect(await page.locator('#method-passkey').textContent()).not.toContain('家族共用の端末');

      // An authenticator app, with the key typed in (a phone cannot scan its own screen).
      await page.locator('#method-totp').getByRole('link', { name: '設定' }).click();
      await page.getByText('スキャンできませんか').click();
      const key = (await page.locator('.secret-key code').textContent())!.replace(/\s/g, '');
      await page.locator('input#code').fill(await totpCodeAt(key, Date.now() / 1000));
      await page.getByLabel('デバイス名').fill('予備の電話');
      await page.getByRole('button', { name: '実行' }).click();
      await eventually(page.locator('#method-totp')).toContainText('予備の電話');
      await screenshot(page, `console-totp-added-${size.width}`);
      await context.close();
    });
  }
});
