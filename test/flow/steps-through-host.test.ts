import { describe, expect, beforeAll, afterAll } from '@jest/globals';
import { itInSociety } from '../support/society.js';
import { startMailedTestIdp, type MailedTestIdp } from '../support/idp.js';
import { testHost } from '../support/factors.js';
import { STEPS } from '../../src/steps/index.js';
import type { Host } from '../../src/flow/host.js';

/**
 * The owed steps of a first login driven through a Host, without HTTP: each reads and changes the
 * member through the Host's ports (src/flow/ports.ts; over the test's real PostgreSQL) and answers
 * what to show or that it is done.
 */
describe('owed steps through a Host', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const idOf = async (userId: string) => (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
  const row = async (memberId: string) =>
    (await t.idp.sql.one<{
      pending_steps: string[];
      failed_logins: number;
      terms_version: string | null;
      user_id: string;
      chosen_factor: string | null;
      must_change_password: boolean;
    }>('select pending_steps, failed_logins, terms_version, user_id, chosen_factor, must_change_password from member where id = $1', [memberId]))!;
  const eventTypes = async (memberId: string) =>
    (await t.idp.sql.rows<{ type: string }>('select type from member_event where member_id = $1 order by id', [memberId])).map((e) => e.type);
  /** The step's host as the login builds it for each page: the member read again. */
  const stepHost = async (memberId: string, step: string): Promise<Host> => ({
    ...(await testHost(t.idp, memberId, `/interaction/x/step/${step}`)),
    flow: 'login',
  });
  const statusOf = (outcome: { kind: string; view?: { status?: number } }) => (outcome.kind === 'show' ? outcome.view?.status : outcome.kind);

  itInSociety('walks a first login: birth date, terms, the confirmed address, user ID and method, password', async () => {
    await t.addMember({ userId: 'taken.steps1' });
    const userId = await t.addMember({ userId: 'host.steps1', email: 'host.steps1@example.jp', birthdate: '1980-12-01' });
    const id = await idOf(userId);
    expect((await row(id)).pending_steps).toEqual(['birthdate', 'terms', 'email', 'user_id_and_method', 'password']);

    // 生年月日: a wrong date is counted by the flow; the right one ends the step and the count.
    expect(statusOf(await STEPS.birthdate.submit(await stepHost(id, 'birthdate'), { birthdate: '19790101' }))).toBe(400);
    expect((await row(id)).failed_logins).toBe(1);
    expect(await STEPS.birthdate.submit(await stepHost(id, 'birthdate'), { birthdate: '1980/12/01' })).toEqual({ kind: 'done' });
    expect(await row(id)).toMatchObject({ failed_logins: 0, pending_steps: ['terms', 'email', 'user_id_and_method', 'password'] });

    expect(await STEPS.terms.submit(await stepHost(id, 'terms'), { decision: 'agree' })).toEqual({ kind: 'done' });
    expect((await row(id)).terms_version).toBe(t.config.terms.version);

    // An address not yet confirmed gets its link; the step stays owed until the link is followed.
    const sent = await STEPS.email.submit(await stepHost(id, 'email'), { email: 'host.steps1@example.jp' });
    expect(sent.kind === 'show' && sent.view.view).toBe('step-email-sent');
    const mail = await t.smtp.waitFor((m) => m.to.includes('host.steps1@example.jp'));
    expect(mail.links.some((l) => l.includes('/verify-email/'))).toBe(true);
    expect((await row(id)).pending_steps).toContain('email');
    // Confirmed (as following the link does), it is kept with one click.
    await t.idp.sql.run('update member set email_verified = true where id = $1', [id]);
    expect(await STEPS.email.submit(await stepHost(id, 'email'), { email: 'host.steps1@example.jp' })).toEqual({ kind: 'done' });
    expect((await row(id)).pending_steps).toEqual(['user_id_and_method', 'password']);

    // Another member's user ID is refused (with the missing method, all at once); a free one is taken.
    const taken = await STEPS.user_id_and_method.submit(await stepHost(id, 'user_id_and_method'), { user_id: 'TAKEN.steps1', method: '' });
    expect(statusOf(taken)).toBe(400);
    expect(taken.kind === 'show' && taken.view.vars.errors).toHaveLength(2);
    expect(await STEPS.user_id_and_method.submit(await stepHost(id, 'user_id_and_method'), { user_id: 'Host.Steps1b', method: 'totp' })).toEqual({
      kind: 'done',
    });
    expect(await row(id)).toMatchObject({ user_id: 'host.steps1b', chosen_factor: 'totp', pending_steps: ['password'] });

    const mismatch = await STEPS.password.submit(await stepHost(id, 'password'), { password: 'Steps-pass-2026', password_confirmation: 'Steps-pass-2027' });
    expect(statusOf(mismatch)).toBe(400);
    expect(await STEPS.password.submit(await stepHost(id, 'password'), { password: 'Steps-pass-2026', password_confirmation: 'Steps-pass-2026' })).toEqual({
      kind: 'done',
    });
    expect(await row(id)).toMatchObject({ must_change_password: false, pending_steps: [] });
    const deps = (await stepHost(id, 'password')).deps;
    expect(await deps.hasher.verify(await deps.credentials.passwordHolder(id), 'Steps-pass-2026')).toBe(true);

    expect(await eventTypes(id)).toEqual([
      'onboarding.birthdate_wrong',
      'onboarding.birthdate_ok',
      'terms.accepted',
      'email.verification_sent',
      'onboarding.user_id_and_method',
      'password.changed',
    ]);
  });

  itInSociety('「同意しない」 ends the login with its event; the terms stay owed', async () => {
    const userId = await t.addMember({ userId: 'host.decline1' });
    const id = await idOf(userId);
    expect(await STEPS.terms.submit(await stepHost(id, 'terms'), { decision: 'decline' })).toEqual({ kind: 'declined' });
    expect(await eventTypes(id)).toEqual(['terms.declined']);
    expect((await row(id)).terms_version).toBeNull();
  });
});
