import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { startMailedTestIdp, type MailedTestIdp, loginThroughPortal, isPortal, BrowserClient } from '../support/idp.js';
import { resetMemberMfa } from '../../src/admin/member-reset-mfa.js';
import { issuePasswordReset } from '../../src/members/password-reset.js';

/**
 * An address change started in a session must not outlive that session: every action that ends all
 * of a member's sessions (「全てのデバイスからサインアウトする」, a password reset, 初期化) cancels the
 * links those sessions asked for, and the attacker's link then says it no longer works.
 */
describe('ending every session cancels the mailed links those sessions asked for', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await t.idp.sql.run('delete from rate_limit');
  });

  const PASSWORD = 'Ended-pass-1';
  const memberRow = (userId: string) => t.idp.sql.one<{ id: string; email: string }>('select id, email from member where user_id = $1', [userId]);

  /** A second browser (the attacker's) logged in as the member asks to move the address to its own mailbox. */
  async function attackerStartsAddressChange(userId: string, attackerAddress: string): Promise<{ attacker: BrowserClient; link: string }> {
    const attacker = new BrowserClient();
    const { after } = await loginThroughPortal(t.url, attacker, userId, PASSWORD);
    expect(isPortal(after.url)).toBe(true);
    const form = await attacker.go(`${t.url}/account/email`);
    const sent = await attacker.submit(form, '/account/email', { email: attackerAddress });
    expect(sent.html).toContain('確認メールを送信しました');
    const mail = await t.smtp.waitFor((m) => m.to.includes(attackerAddress));
    return { attacker, link: mail.links.find((l) => l.includes('/verify-email/'))! };
  }

  /** The link says it no longer works, the address stays, and the attacker's console session is over. */
  async function expectLinkCancelled(userId: string, ownAddress: string, attacker: BrowserClient, link: string) {
    const opened = await attacker.go(link);
    expect(opened.status).toBe(410);
    expect(opened.html).toContain('このリンクは無効か、有効期限が切れているか、すでに使用されています。');
    expect(opened.html).not.toContain('/verify-email/');
    expect((await memberRow(userId))!.email).toBe(ownAddress);
    expect((await attacker.go(`${t.url}/account`)).url).toContain('/interaction/');
  }

  it('「全てのデバイスからサインアウトする」 with a new password cancels the pending address change', async () => {
    await t.addMember({ userId: 'ended0001', email: 'ended1@example.jp' }, { password: PASSWORD, onboarded: true });
    const { attacker, link } = await attackerStartsAddressChange('ended0001', 'thief1@example.jp');

    const member = new BrowserClient();
    await loginThroughPortal(t.url, member, 'ended0001', PASSWORD);
    const form = await member.go(`${t.url}/account/password`);
    const done = await member.submit(form, '/account/password', { password: 'Ended-new-2026', password_confirmation: 'Ended-new-2026', sign_out_others: 'on' });
    expect(done.url).toBe(`${t.url}/account/login-methods?done=password`);

    await expectLinkCancelled('ended0001', 'ended1@example.jp', attacker, link);
    const event = await t.idp.sql.one<{ detail: { cancelledLinks: number } }>(
      `select detail from member_event where member_id = $1 and type = 'password.changed' order by id desc limit 1`,
      [(await memberRow('ended0001'))!.id],
    );
    expect(event!.detail.cancelledLinks).toBeGreaterThanOrEqual(1);
  });

  it('a password change that keeps the other sessions keeps their links too', async () => {
    await t.addMember({ userId: 'ended0002', email: 'ended2@example.jp' }, { password: PASSWORD, onboarded: true });
    const { attacker, link } = await attackerStartsAddressChange('ended0002', 'own2@example.jp');
    const member = new BrowserClient();
    await loginThroughPortal(t.url, member, 'ended0002', PASSWORD);
    const form = await member.go(`${t.url}/account/password`);
    await member.submit(form, '/account/password', { password: 'Ended-new-2026', password_confirmation: 'Ended-new-2026', sign_out_others: '' });
    expect((await attacker.go(link)).status).toBe(200);
  });

  it('初期化 (member reset-mfa) ends every session and cancels the pending address change', async () => {
    await t.addMember({ userId: 'ended0003', email: 'ended3@example.jp' }, { password: PASSWORD, onboarded: true });
    const { attacker, link } = await attackerStartsAddressChange('ended0003', 'thief3@example.jp');
    const reset = await resetMemberMfa({ sql: t.idp.sql, config: t.config }, { userId: 'ended0003' });
    expect(reset.data).toEqual({ removed: 3 });
    await expectLinkCancelled('ended0003', 'ended3@example.jp', attacker, link);
    const event = await t.idp.sql.one<{ detail: { cancelledLinks: number; revoked: number } }>(
      `select detail from member_event where member_id = $1 and type = 'admin.mfa_reset'`,
      [(await memberRow('ended0003'))!.id],
    );
    expect(event!.detail.cancelledLinks).toBeGreaterThanOrEqual(1);
    expect(event!.detail.revoked).toBeGreaterThanOrEqual(1);
  });

  it('a password reset through the mailed link spends that link and cancels the pending address change', async () => {
    await t.addMember({ userId: 'ended0004', email: 'ended4@example.jp' }, { password: PASSWORD, onboarded: true });
    const { attacker, link } = await attackerStartsAddressChange('ended0004', 'thief4@example.jp');
    const memberId = (await memberRow('ended0004'))!.id;
    const resetToken = await issuePasswordReset(t.idp.sql, memberId, 300);
    const member = new BrowserClient();
    const form = await member.go(`${t.url}/recovery/password/reset/${resetToken}`);
    const done = await member.submit(form, '/recovery/password/reset/', { password: 'Reset-new-2026', password_confirmation: 'Reset-new-2026' });
    expect(done.status).toBe(200);
    await expectLinkCancelled('ended0004', 'ended4@example.jp', attacker, link);
    expect((await member.go(`${t.url}/recovery/password/reset/${resetToken}`)).status).toBe(410);
  });
});
