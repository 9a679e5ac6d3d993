import { describe, it, expect as expectNow } from '@jest/globals';
import { totpApp } from '../support/idp.js';
import { mailedCode } from '../support/factors.js';
import type { Config } from '../../src/config/index.js';
import { useBrowserWorld, newPage, submitPassword, loginAtPortal, eventually as expect, PHONE, PC } from './harness.js';

/** The demo portal of these tests receives back-channel logout tokens, as the repository's demo portals do. */
function withBackChannel(config: Config): void {
  const portal = config.clients.find((c) => c.client_id === 'browser-portal')!;
  portal.backchannel_logout_uri = new URL('/backchannel-logout', portal.redirect_uris[0]).toString();
  portal.backchannel_logout_session_required = true;
}

describe('a member in Chromium, through the demo portal', () => {
  const w = useBrowserWorld({ configure: withBackChannel });

  it('logs in with the user ID and password and logs out through the confirmation screen', async () => {
    await w.t.addMember({ userId: 'chrome001', name: '画面 花子', email: 'chrome@example.jp' }, { password: 'Chrome-pass-1', onboarded: true });
    // Chromium's own language here (no locale set for the context).
    const { context, page } = await newPage(w, PHONE, { locale: null });
    await submitPassword(w, page, 'CHROME001', 'Chrome-pass-1');
    // ワンタイムパスワードの入力: the member has several devices and chooses one by its name.
    const device = totpApp('chrome001')!.pick();
    await page.getByLabel(device.label!).check();
    await page.getByLabel('ワンタイムパスワード').fill(await device.nextCode());
    await page.getByRole('button', { name: 'トップページへ' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('画面 花子');

    await page.locator('.account__name').click();
    await page.getByRole('link', { name: 'ログアウト' }).click();
    await expect(page.getByText('ログアウトしてもよろしいですか？')).toBeVisible();
    await page.getByRole('button', { name: 'ログアウトする' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('header').getByRole('link', { name: 'ログイン' })).toBeVisible();
    await context.close();
  });

  it('walks a provisioned member from the initial password to the portal', async () => {
    await w.t.addMember({ userId: 'chrome002', symbol: '12', number: '3456789', birthdate: '1980-12-01', name: '初回 太郎', email: 'first@example.jp' });
    const { context, page } = await newPage(w, PC, { locale: null });
    await submitPassword(w, page, 'chrome002', '12345678919801201');

    await page.getByLabel('生年月日').fill('19801201');
    await page.getByRole('button', { name: '実行' }).click();
    await page.getByRole('button', { name: '同意する' }).click();
    await expect(page.getByLabel('メールアドレス')).toHaveValue('first@example.jp');
    await page.getByRole('button', { name: '実行' }).click();
    await expect(page.getByRole('heading', { name: 'メール認証' })).toBeVisible();

    // The verification link is opened from the mail, in another tab.
    const mail = await w.smtp.waitFor((m) => m.to.includes('first@example.jp'));
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
    const codeMail = await w.smtp.waitFor((m) => m.to.includes('first@example.jp') && m.subject.includes('ワンタイムパスワード'));
    await page.getByLabel('ワンタイムパスワード').fill(mailedCode(codeMail.text));
    await page.getByRole('button', { name: '実行' }).click();
    await page.getByRole('link', { name: 'ポータルへ進む' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('初回 太郎');
    await context.close();
  });

  it('logged out of one device from the account console: the portal on that device shows 「ログイン」 again (back-channel logout)', async () => {
    await w.t.addMember({ userId: 'chrome003', name: '裏口 花子', email: 'chrome003@example.jp' }, { password: 'Chrome-pass-3', onboarded: true });
    const phone = await newPage(w, PHONE);
    await loginAtPortal(w, phone.page, 'chrome003', 'Chrome-pass-3');
    await expect(phone.page.locator('.account__name')).toHaveText('裏口 花子');

    const pc = await newPage(w, PC);
    await loginAtPortal(w, pc.page, 'chrome003', 'Chrome-pass-3');
    await pc.page.goto(`${w.t.url}/account/login-methods`);
    const otherDevice = pc.page
      .locator('li.credential')
      .filter({ has: pc.page.locator('form[action*="/account/sessions/"]') })
      .filter({ hasNotText: 'この端末' });
    await expect(otherDevice.first()).toBeVisible();
    if ((await otherDevice.count()) !== 1) throw new Error('expected one other device on ログイン中のデバイス');
    await otherDevice.getByRole('button', { name: 'ログアウト' }).click();
    await expect(pc.page.getByText('選択したデバイスからログアウトしました。')).toBeVisible();

    // The portal received the logout token for the phone's session and ended its own session of it.
    const loginLink = phone.page.locator('header').getByRole('link', { name: 'ログイン' });
    for (let i = 0; i < 30 && !(await loginLink.isVisible()); i++) {
      await new Promise((r) => setTimeout(r, 300));
      await phone.page.reload();
    }
    await expect(loginLink).toBeVisible();
    // The PC's portal session was another provider session: it stays.
    await pc.page.goto(`${w.portal.url}/`);
    await expect(pc.page.locator('.account__name')).toHaveText('裏口 花子');
    await phone.context.close();
    await pc.context.close();
  });
});

/**
 * The demo portal as a FAPI 2.0 portal (sakura's in `npm start`): the member sees the same login;
 * behind it the portal pushed its request, authenticated with its key and holds DPoP-bound tokens.
 */
describe('a member in Chromium, through a FAPI 2.0 portal', () => {
  const w = useBrowserWorld({ fapi: true });

  it('logs in, sees the ID token and UserInfo, and logs out', async () => {
    await w.t.addMember({ userId: 'fapichrome', name: '金融 一郎', email: 'fapi@example.jp' }, { password: 'Fapi-chrome-1', onboarded: true });
    const { context, page } = await newPage(w, PHONE);
    const authorizationRequests: URL[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/auth') authorizationRequests.push(url);
    });
    await submitPassword(w, page, 'fapichrome', 'Fapi-chrome-1');
    // A pushed request: the browser carried only the client_id and request_uri to the provider.
    expectNow([...authorizationRequests[0]!.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    const device = totpApp('fapichrome')!.pick();
    await page.getByLabel(device.label!).check();
    await page.getByLabel('ワンタイムパスワード').fill(await device.nextCode());
    await page.getByRole('button', { name: 'トップページへ' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('金融 一郎');
    // UserInfo with the DPoP-bound access token.
    await page.goto(`${w.portal.url}/claims`);
    await expect(page.getByText('fapichrome').first()).toBeVisible();
    await page.goto(`${w.portal.url}/`);
    await page.locator('.account__name').click();
    await page.getByRole('link', { name: 'ログアウト' }).click();
    await page.getByRole('button', { name: 'ログアウトする' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('header').getByRole('link', { name: 'ログイン' })).toBeVisible();
    await context.close();
  });
});
