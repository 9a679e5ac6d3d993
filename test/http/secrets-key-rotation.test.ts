import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, type TestIdp, type Page, passwordAtPortal } from '../support/idp.js';
import { findForm } from '../support/browser-client.js';
import { enrolTotpDevice, totpApp } from '../support/factors.js';
import { createLogger } from '../../src/logger.js';
import { totpCodeAt } from '../../src/factors/totp/codes.js';
import { createTestDatabase } from '../support/database.js';
import { secretsKeyId } from '../../src/secrets.js';
import { inTransaction } from '../../src/db/unit-of-work.js';
import { withSociety } from '../../src/db/society.js';
import { issueRecoveryCodes, useRecoveryCode } from '../../src/members/recovery-codes.js';
import { rotateSecrets } from '../../src/admin/secrets-rotate.js';
import { ExitCode } from '../../src/admin/result.js';

/**
 * An operator changes SECRETS_KEY: the old key goes to SECRETS_KEY_PREVIOUS, the provider restarts,
 * and members set up under the old key go on logging in with their authenticator app.
 */
describe('a change of SECRETS_KEY, across restarts of the provider on one database', () => {
  const keyA = Buffer.alloc(32, 0x0a).toString('base64');
  const keyB = Buffer.alloc(32, 0x0b).toString('base64');
  /** What the provider logs at level error, one parsed line each. */
  const logged: Record<string, unknown>[] = [];
  const log = createLogger('error', {
    write: (line: string) => {
      logged.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let running: TestIdp | undefined;
  let recoveryCodes: string[];
  const memberId = async (userId: string) => (await running!.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;

  /** Stops the running provider and starts one with these keys on the same database. */
  async function restartWith(env: Record<string, string>): Promise<TestIdp> {
    await running?.close();
    running = await startTestIdp({ databaseUrl: db.url, env, log });
    return running;
  }
  const logsIn = async (t: TestIdp, userId: string, password: string) =>
    isPortal((await loginThroughPortal(t.url, new BrowserClient(), userId, password)).after.url);

  beforeAll(async () => {
    db = await createTestDatabase();
    const underA = await restartWith({ SECRETS_KEY: keyA });
    await underA.addMember({ userId: 'rotate0001' }, { password: 'Rotate-pass-1', onboarded: true, totpDevices: ['iPhone'] });
    const id = await memberId('rotate0001');
    recoveryCodes = await withSociety(underA.idp.society, () =>
      inTransaction(underA.idp.orm, (work) => issueRecoveryCodes(work, underA.config, id, '127.0.0.1')),
    );
  });
  afterAll(async () => {
    await running?.close();
    await db.drop();
  });

  it('seals new secrets with the key id of SECRETS_KEY', async () => {
    const row = await running!.idp.sql.one<{ secret: string }>(
      `select c.secret from credential c join member m on m.id = c.member_id where m.user_id = 'rotate0001' and c.kind = 'totp'`,
    );
    expect(row!.secret.startsWith(`v2.${secretsKeyId(Buffer.from(keyA, 'base64'))}.`)).toBe(true);
    const codes = await running!.idp.sql.rows<{ key_id: string }>(`select distinct key_id from recovery_code`);
    expect(codes).toEqual([{ key_id: secretsKeyId(Buffer.from(keyA, 'base64')) }]);
  });

  it('logs a member set up under key A in after a restart with SECRETS_KEY=B and SECRETS_KEY_PREVIOUS=A', async () => {
    const t = await restartWith({ SECRETS_KEY: keyB, SECRETS_KEY_PREVIOUS: keyA });
    expect(await logsIn(t, 'rotate0001', 'Rotate-pass-1')).toBe(true);
    // Recovery codes are hashes that cannot be made again under B: they keep working while A is listed.
    expect(await useRecoveryCode(t.idp.sql, t.config, await memberId('rotate0001'), recoveryCodes[0]!)).toEqual(expect.any(String));
    expect(
      await useRecoveryCode(t.idp.sql, { secretsKey: t.config.secretsKey, previousSecretsKeys: [] }, await memberId('rotate0001'), recoveryCodes[1]!),
    ).toBeUndefined();
  });

  it('after `secrets rotate`, logs the member in with SECRETS_KEY=B alone (signing keys included)', async () => {
    const rotation = await rotateSecrets({ sql: running!.idp.sql, config: running!.config }, { batchSize: 100 });
    expect(rotation.exitCode).toBe(ExitCode.ok);
    expect(rotation.data!.totp).toEqual({ resealed: 1, current: 0, unreadable: [] });
    expect(rotation.data!.signingKeys).toEqual({ resealed: 2, current: 0, unreadable: [] });
    const t = await restartWith({ SECRETS_KEY: keyB });
    expect(await logsIn(t, 'rotate0001', 'Rotate-pass-1')).toBe(true);
  });

  describe('with key A lost entirely (devices sealed while it was SECRETS_KEY, then neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS)', () => {
    let personal: { secret: string; credentialId: string };
    beforeAll(async () => {
      // Devices set up while A was SECRETS_KEY again; then A is lost and the provider runs with B alone.
      const underA = await restartWith({ SECRETS_KEY: keyA, SECRETS_KEY_PREVIOUS: keyB });
      await underA.addMember({ userId: 'lost00001', email: 'lost00001@example.jp' }, { password: 'Lost-pass-1', onboarded: true, totpDevices: ['iPhone'] });
      await underA.addMember({ userId: 'lost00002' }, { password: 'Lost-pass-2', onboarded: true, totpDevices: ['会社用'] });
      const underB = await restartWith({ SECRETS_KEY: keyB });
      personal = await enrolTotpDevice(underB.idp, await memberId('lost00002'), '個人用');
    });

    async function toFactor(userId: string, password: string): Promise<{ browser: BrowserClient; page: Page }> {
      return passwordAtPortal(running!.url, userId, password);
    }
    const failures = async (userId: string) =>
      (await running!.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', [userId]))!.failed_logins;

    it('tells the member at the code page that the device can no longer be used and what to do, without a 5xx; the log has one line without secrets or personal data', async () => {
      logged.length = 0;
      const { browser, page } = await toFactor('lost00001', 'Lost-pass-1');
      expect(new URL(page.url).pathname).toMatch(/\/factor$/);
      expect(page.status).toBe(200);
      expect(page.html).toContain('<h1>ワンタイムパスワードのデバイスを使用できません</h1>');
      expect(page.html).toContain('<li>iPhone</li>');
      expect(page.html).toContain('お客さまの操作やスマートデバイス、認証アプリに問題はありません。');
      expect(page.html).toContain('ご加入の健保組合に多要素認証の初期化をご依頼ください。');
      expect(page.html).not.toContain('別のデバイスを選択する');
      expect(page.html).not.toContain('name="code"');
      expect(page.html).toContain('リカバリーコードを使用する');
      expect(findForm(page.html, '/abort').hidden._csrf).toBeTruthy();

      expect(logged).toHaveLength(1);
      const line = JSON.stringify(logged[0]);
      expect(logged[0]).toMatchObject({ level: 50, keyIds: [secretsKeyId(Buffer.from(keyA, 'base64'))] });
      expect(String(logged[0]!.msg)).toMatch(
        /^TOTP device secret cannot be decrypted: sealed with a key that is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS/,
      );
      for (const personalData of ['lost00001', 'iPhone', 'example.jp', totpApp('lost00001')!.devices[0]!.secret]) expect(line).not.toContain(personalData);

      // A code sent anyway (a page opened before the change) gets the same page, and is not counted as a wrong one.
      const device = (await running!.idp.sql.one<{ id: string }>(
        `select c.id from credential c join member m on m.id = c.member_id where m.user_id = 'lost00001' and c.kind = 'totp'`,
      ))!.id;
      const answer = await browser.go(page.url, { form: { _csrf: findForm(page.html, '/abort').hidden._csrf!, device, code: '123456' }, stopAt: isPortal });
      expect(answer.status).toBe(200);
      expect(answer.html).toContain('<h1>ワンタイムパスワードのデバイスを使用できません</h1>');
      expect(await failures('lost00001')).toBe(0);
      expect(logged).toHaveLength(2);
      // The help desk sees it in the member's trail (`member events`).
      const events = await running!.idp.sql.rows<{ type: string; detail: unknown }>(
        `select type, detail from member_event e join member m on m.id = e.member_id where m.user_id = 'lost00001' and type like 'login.totp%' order by e.id`,
      );
      expect(events).toEqual([
        { type: 'login.totp_unreadable', detail: { devices: ['iPhone'] } },
        { type: 'login.totp_unreadable', detail: { devices: ['iPhone'] } },
      ]);
    });

    it('offers ポータルに戻る, which hands the portal access_denied', async () => {
      const { browser, page } = await toFactor('lost00001', 'Lost-pass-1');
      const back = await browser.submit(page, '/abort', {}, { stopAt: isPortal });
      expect(isPortal(back.url)).toBe(true);
      expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
    });

    it('lets a member with another device choose it: the lost one is marked, and choosing it explains why it cannot be used', async () => {
      const { browser, page } = await toFactor('lost00002', 'Lost-pass-2');
      expect(page.html).toContain('<h1>ワンタイムパスワードの入力</h1>');
      expect(page.html).toMatch(/会社用 <span class="hint">\(使用できません\)<\/span>/);
      expect(page.html).toContain(`value="${personal.credentialId}" checked`);
      const company = totpApp('lost00002')!.devices[0]!;
      const chosen = await browser.submit(page, '/factor', { device: company.credentialId!, code: await company.nextCode() }, { stopAt: isPortal });
      expect(chosen.status).toBe(200);
      expect(chosen.html).toContain('<li>会社用</li>');
      expect(chosen.html).not.toContain('ワンタイムパスワードが正しくありません。');
      expect(await failures('lost00002')).toBe(0);
      const other = await browser.go(new URL(/<a class="btn" href="([^"]+)">別のデバイスを選択する<\/a>/.exec(chosen.html)![1]!, chosen.url).toString(), {
        stopAt: isPortal,
      });
      const done = await browser.submit(
        other,
        '/factor',
        { device: personal.credentialId, code: await totpCodeAt(personal.secret, Date.now() / 1000 + 30) },
        { stopAt: isPortal },
      );
      expect(isPortal(done.url)).toBe(true);
    });
  });
});
