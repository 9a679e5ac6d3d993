import { describe, expect, beforeAll, afterAll } from '@jest/globals';
import { itInSociety } from '../support/society.js';
import { startMailedTestIdp, type MailedTestIdp } from '../support/idp.js';
import { mailedCode, testHost } from '../support/factors.js';
import { totpFactor } from '../../src/factors/totp/index.js';
import { emailFactor } from '../../src/factors/email/index.js';
import { openTotpSecret } from '../../src/factors/totp/secret.js';
import { timeStepAt, totpCodeAt, TOTP_PERIOD_SECONDS } from '../../src/factors/totp/codes.js';
import type { Host } from '../../src/flow/host.js';

/**
 * Factors driven through a Host, without HTTP: what they read, change and count goes through the
 * ports the Host carries (src/flow/ports.ts, over the test's real PostgreSQL: src/members/ports.ts).
 */
describe('factors through a Host', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const idOf = async (userId: string) => (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
  const events = async (memberId: string, type: string) =>
    (
      await t.idp.sql.rows<{ detail: Record<string, unknown> }>('select detail from member_event where member_id = $1 and type = $2 order by id', [
        memberId,
        type,
      ])
    ).map((e) => e.detail);
  const failedLogins = async (memberId: string) => (await t.idp.sql.one<{ n: number }>('select failed_logins as n from member where id = $1', [memberId]))!.n;
  const viewOf = (outcome: { kind: string; view?: { view: string; status?: number } }) => (outcome.kind === 'show' ? outcome.view : outcome.kind);

  async function loginHost(memberId: string): Promise<Host> {
    return { ...(await testHost(t.idp, memberId, '/interaction/x/factor/setup')), flow: 'login' };
  }

  itInSociety(
    'the authenticator app: its setup stores the device with the code that proved it; a login code is accepted once, a replay counts one failure',
    async () => {
      const userId = await t.addMember({ userId: 'host.totp1' }, { password: 'Host-totp-001', onboarded: true, totpDevices: [] });
      const id = await idOf(userId);
      const host = await loginHost(id);
      await totpFactor.startSetup(host);
      const secret = openTotpSecret(t.config, id, host.scratch.get<string>('totp.pendingSecret')!);

      // A wrong code at the setup is a typing matter: the page again, nothing counted.
      expect(viewOf(await totpFactor.finishSetup(host, { code: '000000', device_name: '会社用' }))).toMatchObject({ view: 'factor-totp-setup', status: 400 });
      expect(await failedLogins(id)).toBe(0);

      const now = Date.now() / 1000;
      const setUp = await totpFactor.finishSetup(host, { code: await totpCodeAt(secret, now - TOTP_PERIOD_SECONDS), device_name: '会社用' });
      if (setUp.kind !== 'verified') throw new Error(`not set up: ${JSON.stringify(setUp)}`);
      expect(setUp.amr).toEqual(['otp']);
      const stored = await t.idp.sql.one<{ label: string; step: string; member: string }>(
        'select label, last_time_step as step, member_id as member from credential where id = $1',
        [setUp.credentialId],
      );
      expect(stored).toEqual({ label: '会社用', step: String(timeStepAt(now) - 1), member: id });
      expect(await events(id, 'factor.totp_added')).toEqual([{ label: '会社用', flow: 'login' }]);
      expect(host.scratch.get('totp.pendingSecret')).toBeUndefined();

      // A second device of the same name is refused by name.
      await totpFactor.startSetup(host);
      const second = openTotpSecret(t.config, id, host.scratch.get<string>('totp.pendingSecret')!);
      const taken = await totpFactor.finishSetup(host, { code: await totpCodeAt(second, Date.now() / 1000), device_name: '会社用' });
      expect(viewOf(taken)).toMatchObject({ view: 'factor-totp-setup', status: 400 });

      // At login: the next step's code is accepted once, with its event; the same code again counts one failure.
      const code = await totpCodeAt(secret, (timeStepAt(now) + 1) * TOTP_PERIOD_SECONDS);
      expect(await totpFactor.verify(host, { device: setUp.credentialId!, code })).toEqual({
        kind: 'verified',
        amr: ['otp'],
        credentialId: setUp.credentialId,
      });
      expect(await events(id, 'login.totp_ok')).toEqual([{ device: '会社用' }]);
      expect(viewOf(await totpFactor.verify(host, { device: setUp.credentialId!, code }))).toMatchObject({ view: 'factor-totp-login', status: 401 });
      expect(await failedLogins(id)).toBe(1);
      expect(await events(id, 'login.totp_wrong')).toHaveLength(1);
    },
  );

  itInSociety(
    'the mailed code: its setup mails one code (a reload mails no other), the code proves the method once; the same code again says 使用済み and counts nothing',
    async () => {
      const userId = await t.addMember(
        { userId: 'host.mail1', email: 'host.mail1@example.jp' },
        { password: 'Host-mail-001', onboarded: true, factor: 'email' },
      );
      const id = await idOf(userId);
      const host = await loginHost(id);
      const mailsTo = () => t.smtp.messages.filter((m) => m.to.includes('host.mail1@example.jp'));

      expect((await emailFactor.startSetup(host)).view).toBe('factor-email');
      const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('host.mail1@example.jp'))).text);
      expect((await emailFactor.startSetup(host)).view).toBe('factor-email');
      expect(mailsTo()).toHaveLength(1);

      expect(await emailFactor.finishSetup(host, { code })).toEqual({ kind: 'verified', amr: ['email'] });
      expect(await t.idp.sql.rows(`select 1 from credential where member_id = $1 and kind = 'email'`, [id])).toHaveLength(1);
      expect(await events(id, 'factor.email_added')).toEqual([{ flow: 'login' }]);
      expect(await events(id, 'login.email_ok')).toHaveLength(1);

      const again = await emailFactor.verify(host, { code });
      expect(viewOf(again)).toMatchObject({ view: 'factor-email', status: 400 });
      expect(again.kind === 'show' && again.view.vars.errors).toEqual([host.t('factor_email.error_used')]);
      expect(await failedLogins(id)).toBe(0);
    },
  );
});
