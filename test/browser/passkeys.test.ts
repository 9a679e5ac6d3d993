import { describe, it, expect as jestExpect } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { useBrowserWorld, newPage, submitPassword, openLoginFromPortal, logoutAtPortal, shot, eventually as expect, PHONE, PC } from './harness.js';

describe('passkeys (生体認証) in Chromium with a virtual platform authenticator', () => {
  const w = useBrowserWorld();

  /** A member who chose 生体認証 and has no passkey yet (a first login, or after 初期化). */
  async function passkeyMember(userId: string, password: string, name = '生体 花子') {
    await w.t.addMember({ userId, name }, { password, onboarded: true, factor: 'passkey' });
  }
  const open = (size: typeof PHONE) => newPage(w, size, { authenticator: true });
  /** The passkey registered inside the first login (登録, then OK), then a new visit: no cookies. */
  async function registeredPasskey(context: BrowserContext, page: Page, userId: string, password: string) {
    await submitPassword(w, page, userId, password);
    await page.getByRole('button', { name: '登録' }).click();
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await context.clearCookies();
  }
  const passkeysOf = (userId: string) =>
    w.t.idp.sql.rows<{ label: string; sign_count: string; transports: string[]; backed_up: boolean | null; last_used_at: string | null; webauthn_id: string }>(
      `select c.label, c.sign_count, c.transports, c.backed_up, c.last_used_at, c.webauthn_id from credential c join member m on m.id = c.member_id where m.user_id = $1 and c.kind = 'passkey' order by c.created_at`,
      [userId],
    );

  for (const size of [PHONE, PC]) {
    it(`registers a passkey inside the first login, names it, and logs in with it after the password (${size.width}x${size.height})`, async () => {
      const userId = `pk${size.width}`;
      await passkeyMember(userId, 'Passkey-pass-1');
      const { context, page, authenticator } = await open(size);
      await submitPassword(w, page, userId, 'Passkey-pass-1');
      await expect(page.getByRole('heading', { name: 'セキュリティキーの登録' })).toBeVisible();
      await shot(page, 'passkey-1-register');
      await page.getByRole('button', { name: '登録' }).click();
      await expect(page.getByRole('heading', { name: '認証ラベルの登録' })).toBeVisible();
      // The virtual authenticator's AAGUID is not a known product: the manual's generic name is proposed.
      await expect(page.getByLabel('認証ラベル')).toHaveValue('パスキー');
      await shot(page, 'passkey-2-label');
      await page.getByLabel('認証ラベル').fill('テスト端末');
      await page.getByRole('button', { name: 'OK' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await expect(page.locator('.account__name')).toHaveText('生体 花子');
      await shot(page, 'passkey-3-portal');
      const stored = await passkeysOf(userId);
      jestExpect(stored).toHaveLength(1);
      jestExpect(stored[0]).toMatchObject({ label: 'テスト端末', transports: ['internal'] });
      jestExpect((await authenticator.credentials()).map((c) => c.isResidentCredential)).toEqual([true]);

      // Log out, then in again: password, then the passkey (次へ). With passkey-only login switched
      // off in the society's society.json, the login page offers no passkey of its own.
      await logoutAtPortal(w, page);
      w.t.config.union.passkeys.passkeyOnlyLogin = false;
      try {
        await submitPassword(w, page, userId, 'Passkey-pass-1');
        jestExpect(await page.getByRole('button', { name: '生体認証でログイン' }).count()).toBe(0);
      } finally {
        w.t.config.union.passkeys.passkeyOnlyLogin = true;
      }
      await expect(page.getByRole('heading', { name: '生体認証' })).toBeVisible();
      await expect(page.getByText('テスト端末')).toBeVisible();
      await shot(page, 'passkey-4-login');
      await page.getByRole('button', { name: '次へ' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await expect(page.locator('.account__name')).toHaveText('生体 花子');
      const used = await passkeysOf(userId);
      jestExpect(used[0]!.last_used_at).not.toBeNull();
      await context.close();
    });
  }

  it('shows 「セキュリティキーの登録が無効です」 with what to do when a passkey we do not hold answers (FAQ Q16)', async () => {
    await passkeyMember('pkinvalid', 'Passkey-pass-5');
    const { context, page } = await open(PHONE);
    await registeredPasskey(context, page, 'pkinvalid', 'Passkey-pass-5');
    w.t.config.union.passkeys.passkeyOnlyLogin = false;
    try {
      await submitPassword(w, page, 'pkinvalid', 'Passkey-pass-5');
      await expect(page.getByRole('heading', { name: '生体認証' })).toBeVisible();
      // An authenticator answers with a credential this member does not have (another device's, or deleted).
      await page.evaluate(() => {
        const form = document.querySelector<HTMLFormElement>('form[data-passkey]')!;
        const options = JSON.parse(form.dataset.options!) as { challenge: string };
        const b64 = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        const clientDataJSON = b64(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: location.origin }));
        (form.elements.namedItem('response') as HTMLInputElement).value = JSON.stringify({
          id: 'dW5rbm93bg',
          rawId: 'dW5rbm93bg',
          type: 'public-key',
          clientExtensionResults: {},
          response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA' },
        });
        form.submit();
      });
      await expect(page.getByRole('heading', { name: 'セキュリティキーの登録が無効です' })).toBeVisible();
      await expect(
        page.getByText('端末にパスワード管理アプリ（iCloudキーチェーン、Googleパスワードマネージャーなど）が入っているか確認してください。'),
      ).toBeVisible();
      await shot(page, 'passkey-7-invalid');
      // 「再試行してください」 goes back to the passkey page, and the real passkey still works.
      await page.getByRole('link', { name: '再試行してください' }).click();
      await page.getByRole('button', { name: '次へ' }).click();
      await page.waitForURL(`${w.portal.url}/`);
    } finally {
      w.t.config.union.passkeys.passkeyOnlyLogin = true;
    }
    await context.close();
  });

  it('shows the retry screen when the ceremony is cancelled, and 「再試行してください」 starts it again', async () => {
    await passkeyMember('pkcancel1', 'Passkey-pass-2');
    const { context, page, authenticator } = await open(PHONE);
    await authenticator.setUserVerified(false);
    await submitPassword(w, page, 'pkcancel1', 'Passkey-pass-2');
    await page.getByRole('button', { name: '登録' }).click();
    await expect(page.getByRole('heading', { name: '生体認証を完了できませんでした' })).toBeVisible();
    await shot(page, 'passkey-5-retry');
    jestExpect(await passkeysOf('pkcancel1')).toHaveLength(0);
    await authenticator.setUserVerified(true);
    await page.getByRole('link', { name: '再試行してください' }).click();
    await page.getByRole('button', { name: '登録' }).click();
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    jestExpect((await passkeysOf('pkcancel1')).map((p) => p.label)).toEqual(['パスキー']);
    await context.close();
  });

  it("logs in with the passkey alone from the user-ID field's autofill (conditional mediation)", async () => {
    await passkeyMember('pkfill001', 'Passkey-pass-4', '自動 三郎');
    const { context, page } = await open(PHONE);
    await registeredPasskey(context, page, 'pkfill001', 'Passkey-pass-4');
    // Since then the member reset their password (a reset raises auth_epoch, ending logins that
    // passed the old one) and the society published new terms: this passkey-only login, begun
    // after the reset, goes on to the re-consent and finishes.
    await w.t.idp.sql.run(`update member set auth_epoch = auth_epoch + 1, terms_version = '2000-01-01' where user_id = 'pkfill001'`);
    // The login page starts a conditional request; Chromium's virtual authenticator answers it as
    // a member picking the passkey offered under the user-ID field would.
    await openLoginFromPortal(w, page);
    await page.getByRole('button', { name: '同意する' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('自動 三郎');
    const events = await w.t.idp.sql.rows<{ type: string }>(
      `select type from member_event e join member m on m.id = e.member_id where m.user_id = 'pkfill001' order by e.id desc limit 3`,
    );
    // No password in this login: the passkey alone, then the re-consent.
    jestExpect(events.map((e) => e.type)).toEqual(['login.completed', 'terms.accepted', 'login.passkey_ok']);
    await context.close();
  });

  it('logs in with the passkey alone from 「生体認証でログイン」, and refuses it once the passkey is deleted', async () => {
    await passkeyMember('pkalone01', 'Passkey-pass-3', '単独 次郎');
    const { context, page } = await open(PC);
    // A browser without passkey autofill: only the button offers the passkey.
    await context.addInitScript(() => {
      (
        window as unknown as { PublicKeyCredential: { isConditionalMediationAvailable: () => Promise<boolean> } }
      ).PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await registeredPasskey(context, page, 'pkalone01', 'Passkey-pass-3');

    await openLoginFromPortal(w, page);
    await expect(page.getByRole('button', { name: '生体認証でログイン' })).toBeVisible();
    jestExpect(await page.getByLabel('ユーザID').getAttribute('autocomplete')).toBe('username webauthn');
    await shot(page, 'passkey-6-login-page');
    await page.getByRole('button', { name: '生体認証でログイン' }).click();
    await page.waitForURL(`${w.portal.url}/`);
    await expect(page.locator('.account__name')).toHaveText('単独 次郎');
    const events = await w.t.idp.sql.rows<{ type: string }>(
      `select type from member_event e join member m on m.id = e.member_id where m.user_id = 'pkalone01' order by e.id desc limit 2`,
    );
    jestExpect(events.map((e) => e.type)).toEqual(['login.completed', 'login.passkey_ok']);

    // 初期化 by an administrator: the authenticator still holds the passkey, we no longer do.
    await w.t.idp.sql.run(`delete from credential where kind = 'passkey' and member_id = (select id from member where user_id = 'pkalone01')`);
    await context.clearCookies();
    await openLoginFromPortal(w, page);
    await page.getByRole('button', { name: '生体認証でログイン' }).click();
    await expect(page.getByText('生体認証でログインできませんでした。')).toBeVisible();
    jestExpect(page.url()).toContain('/interaction/');
    await context.close();
  });

  for (const size of [PHONE, PC]) {
    it(`refuses a passkey whose sign counter did not grow, after the password and alone, with its own words (${size.width}x${size.height})`, async () => {
      const userId = `pkcount${size.width}`;
      await passkeyMember(userId, 'Passkey-pass-7', '回数 三郎');
      const { context, page, authenticator } = await open(size);
      await context.addInitScript(() => {
        (
          window as unknown as { PublicKeyCredential: { isConditionalMediationAvailable: () => Promise<boolean> } }
        ).PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
      await registeredPasskey(context, page, userId, 'Passkey-pass-7');
      // The stored counter is ahead of what this authenticator will say: as if a copy of it had signed meanwhile.
      const ahead = (await authenticator.credentials())[0]!.signCount + 1000;
      await w.t.idp.sql.run(`update credential set sign_count = $2 where kind = 'passkey' and member_id = (select id from member where user_id = $1)`, [
        userId,
        ahead,
      ]);

      w.t.config.union.passkeys.passkeyOnlyLogin = false;
      try {
        await submitPassword(w, page, userId, 'Passkey-pass-7');
        await page.getByRole('button', { name: '次へ' }).click();
        await expect(page.getByRole('heading', { name: 'このパスキーは使用できません' })).toBeVisible();
        // Not FAQ Q16's password-manager checks: a counter problem says what it is.
        jestExpect(await page.getByText('パスワード管理').count()).toBe(0);
        await shot(page, 'passkey-counter-after-password');
      } finally {
        w.t.config.union.passkeys.passkeyOnlyLogin = true;
      }
      await context.clearCookies();
      await openLoginFromPortal(w, page);
      await page.getByRole('button', { name: '生体認証でログイン' }).click();
      await expect(page.getByText('安全のため、このパスキーではログインできません。')).toBeVisible();
      await shot(page, 'passkey-counter-alone');
      jestExpect(page.url()).toContain('/interaction/');
      const stored = await passkeysOf(userId);
      jestExpect(Number(stored[0]!.sign_count)).toBe(ahead);

      // Synced passkeys report 0: a stored 0 accepts whatever the authenticator says, alone too.
      await w.t.idp.sql.run(`update credential set sign_count = 0 where kind = 'passkey' and member_id = (select id from member where user_id = $1)`, [userId]);
      await page.getByRole('button', { name: '生体認証でログイン' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await expect(page.locator('.account__name')).toHaveText('回数 三郎');
      await context.close();
    });
  }
});
