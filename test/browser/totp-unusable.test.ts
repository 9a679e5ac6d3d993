import { describe, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { useBrowserWorld, newPage, submitPassword, checkScreen as check, expectLocator, PHONE, PC } from './harness.js';
import { sealTotpSecret } from '../../src/factors/totp/secret.js';
import { totpApp } from '../support/factors.js';

/**
 * A member whose authenticator-app device was sealed under a SECRETS_KEY that is gone (neither
 * SECRETS_KEY nor in SECRETS_KEY_PREVIOUS): 「ワンタイムパスワードのデバイスを使用できません」, in Chromium.
 */
describe('an authenticator-app device whose key was lost, in Chromium', () => {
  const w = useBrowserWorld();
  const lostKey = { secretsKey: Buffer.alloc(32, 0x5a), previousSecretsKeys: [] };

  /** An onboarded member; the devices named in `lost` are sealed again under a key the provider does not have. */
  async function member(userId: string, devices: string[], lost: string[]) {
    await w.t.addMember({ userId, name: '鍵 紛失' }, { password: 'Lost-key-pass-1', onboarded: true, totpDevices: devices });
    for (const device of totpApp(userId)!.devices.filter((d) => lost.includes(d.label!))) {
      const { member_id: memberId } = (await w.t.idp.sql.one<{ member_id: string }>('select member_id from credential where id = $1', [device.credentialId]))!;
      await w.t.idp.sql.run('update credential set secret = $2 where id = $1', [device.credentialId, sealTotpSecret(lostKey, memberId, device.secret)]);
    }
  }
  const password = (page: Page, userId: string) => submitPassword(w, page, userId, 'Lost-key-pass-1');

  for (const viewport of [PHONE, PC]) {
    it(`says the only device can no longer be used, and offers a recovery code and ポータルに戻る (${viewport.width} px)`, async () => {
      const userId = `lostkey${viewport.width}`;
      await member(userId, ['iPhone'], ['iPhone']);
      const { context, page } = await newPage(w, viewport);
      await password(page, userId);
      await expectLocator(page.getByRole('heading', { name: 'ワンタイムパスワードのデバイスを使用できません' })).toBeVisible();
      await expectLocator(page.getByRole('alert')).toContainText('iPhone');
      await expectLocator(page.getByRole('link', { name: 'リカバリーコードを使用する' })).toBeVisible();
      await check(page, 'factor-totp-unusable');
      await page.getByRole('button', { name: 'ポータルに戻る' }).click();
      await page.waitForURL((u) => u.toString().startsWith(w.portal.url));
      await context.close();
    });

    it(`marks the lost device among several, and leads back to choosing another (${viewport.width} px)`, async () => {
      const userId = `lostone${viewport.width}`;
      await member(userId, ['会社用', '個人用'], ['会社用']);
      const { context, page } = await newPage(w, viewport);
      await password(page, userId);
      await expectLocator(page.getByRole('heading', { name: 'ワンタイムパスワードの入力' })).toBeVisible();
      await expectLocator(page.getByText('(使用できません)')).toBeVisible();
      await check(page, 'factor-totp-login-one-unusable');
      const company = totpApp(userId)!.devices.find((d) => d.label === '会社用')!;
      await page.getByLabel('会社用').check();
      await page.getByLabel('ワンタイムパスワード').fill(await company.nextCode());
      await page.getByRole('button', { name: 'トップページへ' }).click();
      await expectLocator(page.getByRole('heading', { name: 'ワンタイムパスワードのデバイスを使用できません' })).toBeVisible();
      await check(page, 'factor-totp-unusable-other-device');
      await page.getByRole('link', { name: '別のデバイスを選択する' }).click();
      await expectLocator(page.getByRole('heading', { name: 'ワンタイムパスワードの入力' })).toBeVisible();
      await page.getByLabel('ワンタイムパスワード').fill(
        await totpApp(userId)!
          .devices.find((d) => d.label === '個人用')!
          .nextCode(),
      );
      await page.getByRole('button', { name: 'トップページへ' }).click();
      await page.waitForURL(`${w.portal.url}/`);
      await context.close();
    });
  }
});
