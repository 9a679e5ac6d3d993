import { describe, expect, beforeAll, afterAll } from '@jest/globals';
import { itInSociety } from '../support/society.js';
import { startTestIdp, totpApp, type TestIdp } from '../support/idp.js';
import { testDeps, testHost } from '../support/factors.js';
import { inTransaction } from '../../src/db/unit-of-work.js';
import { withSociety } from '../../src/db/society.js';
import { issueRecoveryCodes } from '../../src/members/recovery-codes.js';
import { loginStore } from '../../src/members/login-store.js';
import { proofAttempts, type ProofAttempt } from '../../src/flow/attempt.js';
import {
  afterAddressProof,
  afterSecondFactor,
  factorAt,
  finishLogin,
  identifiedByPassword,
  nextPlace,
  openLogin,
  type LoginRun,
} from '../../src/flow/login.js';
import { recoveryCodeFactor } from '../../src/factors/index.js';
import type { Host } from '../../src/flow/host.js';
import { totpCodeAt, TOTP_PERIOD_SECONDS } from '../../src/factors/totp/codes.js';

/** The login flow driven through a Host, without HTTP: its order, what it finishes with, and the failures it counts. */
describe('the login flow (src/flow/login.ts)', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const idOf = async (userId: string) => (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;

  /** The login of a member who has just typed the right password, as the login page would begin it. */
  async function loginAfterPassword(userId: string, requestedAcr: string[] = []): Promise<LoginRun> {
    const store = loginStore(t.idp);
    const found = (await store.memberForLogin(await idOf(userId)))!;
    const state = identifiedByPassword({ memberId: found.member.id, authEpoch: found.member.authEpoch, remember: false });
    const opened = await openLogin(store, state, { termsVersion: t.config.terms.version, requestedAcr });
    if (opened?.kind !== 'run') throw new Error(`no login: ${opened?.kind}`);
    return opened.run;
  }

  /** The same login, read again as the next page of it would. */
  async function reopened(run: LoginRun): Promise<LoginRun> {
    const opened = await openLogin(run.store, run.state, { termsVersion: run.termsVersion, requestedAcr: run.requestedAcr });
    if (opened?.kind !== 'run') throw new Error(`no login: ${opened?.kind}`);
    return opened.run;
  }

  async function loginHost(run: LoginRun, attempt?: ProofAttempt): Promise<Host> {
    const host = await testHost(t.idp, run.member.id, '/test/login');
    return { ...host, flow: 'login', ...(attempt ? { attempt } : {}) };
  }

  async function proveTotp(run: LoginRun): Promise<LoginRun> {
    const factor = await factorAt(run, 'factor');
    expect(factor.kind).toBe('totp');
    const device = totpApp(run.member.userId)!.pick();
    const outcome = await factor.verify(await loginHost(run), { device: device.credentialId!, code: await device.nextCode() });
    if (outcome.kind !== 'verified') throw new Error(`not verified: ${outcome.kind}`);
    return reopened({ ...run, state: afterSecondFactor(run.state, { kind: factor.kind, amr: outcome.amr, deviceId: outcome.credentialId, setUp: false }) });
  }

  itInSociety('asks the second factor first when the member has one set up, then the owed steps (re-consent to new terms)', async () => {
    const userId = await t.addMember(
      { userId: 'flow.order1', email: 'flow.order1@example.jp' },
      { password: 'Flow-order-01', onboarded: true, totpDevices: ['会社用'] },
    );
    await t.idp.sql.run(`update member set terms_version = 'old' where user_id = $1`, [userId]);
    let run = await loginAfterPassword(userId);
    expect(await nextPlace(run)).toBe('factor');
    run = await proveTotp(run);
    expect(await nextPlace(run)).toBe('step/terms');
  });

  itInSociety('starts a first login with the birth date', async () => {
    const userId = await t.addMember({ userId: 'flow.first1', email: 'flow.first1@example.jp' });
    expect(await nextPlace(await loginAfterPassword(userId))).toBe('step/birthdate');
  });

  itInSociety('asks a mailed code to the confirmed address before a device is set up, then the setup', async () => {
    const userId = await t.addMember(
      { userId: 'flow.setup1', email: 'flow.setup1@example.jp' },
      { password: 'Flow-setup-01', onboarded: true, totpDevices: [] },
    );
    let run = await loginAfterPassword(userId);
    expect(await nextPlace(run)).toBe('factor/address');
    expect((await factorAt(run, 'factor/address')).kind).toBe('email');
    run = await reopened({ ...run, state: afterAddressProof(run.state, ['email']) });
    expect(await nextPlace(run)).toBe('factor/setup');
    expect((await factorAt(run, 'factor/setup')).kind).toBe('totp');
  });

  itInSociety('asks the strongest held device when acr_values ask above the chosen method', async () => {
    const userId = await t.addMember(
      { userId: 'flow.stepup1', email: 'flow.stepup1@example.jp' },
      { password: 'Flow-stepup-01', onboarded: true, totpDevices: ['会社用'] },
    );
    await t.idp.sql.run(`update member set chosen_factor = 'email' where user_id = $1`, [userId]);
    expect((await factorAt(await loginAfterPassword(userId), 'factor')).kind).toBe('email');
    expect((await factorAt(await loginAfterPassword(userId, ['urn:kosmo:acr:mfa']), 'factor')).kind).toBe('totp');
  });

  itInSociety('finishes with amr and acr from what was proved: the password alone', async () => {
    const userId = await t.addMember({ userId: 'flow.pwd1' }, { password: 'Flow-pwd-0001', onboarded: true, factor: null });
    const run = await loginAfterPassword(userId);
    expect(await nextPlace(run)).toBeUndefined();
    expect(await finishLogin(run, '127.0.0.1')).toEqual({
      kind: 'finished',
      accountId: run.member.id,
      remember: false,
      amr: ['pwd'],
      acr: 'urn:kosmo:acr:pwd',
    });
  });

  itInSociety('finishes with amr and acr from what was proved: the password and an authenticator app', async () => {
    const userId = await t.addMember({ userId: 'flow.totp1' }, { password: 'Flow-totp-001', onboarded: true, totpDevices: ['会社用'] });
    const run = await proveTotp(await loginAfterPassword(userId));
    expect(await nextPlace(run)).toBeUndefined();
    expect(await finishLogin(run, '127.0.0.1')).toMatchObject({ kind: 'finished', amr: ['pwd', 'otp', 'mfa'], acr: 'urn:kosmo:acr:mfa' });
  });

  itInSociety('takes a recovery code as one more factor (amr rc), worth no more than what its codes are trusted for', async () => {
    const userId = await t.addMember({ userId: 'flow.rc1' }, { password: 'Flow-rc-00001', onboarded: true, totpDevices: ['会社用'] });
    const id = await idOf(userId);
    const codes = await withSociety(t.idp.society, () =>
      inTransaction(t.idp.orm, (work) => issueRecoveryCodes(work, t.config, id, '127.0.0.1', 'urn:kosmo:acr:email')),
    );
    const run = await loginAfterPassword(userId);
    const outcome = await recoveryCodeFactor.verify(await loginHost(run), { code: codes[0]! });
    if (outcome.kind !== 'verified') throw new Error(`not verified: ${outcome.kind}`);
    const after = await reopened({
      ...run,
      state: afterSecondFactor(run.state, { kind: recoveryCodeFactor.kind, amr: outcome.amr, deviceId: outcome.credentialId }),
    });
    expect(await nextPlace(after)).toBeUndefined();
    expect(await finishLogin(after, '127.0.0.1')).toMatchObject({ kind: 'finished', amr: ['pwd', 'rc', 'mfa'], acr: 'urn:kosmo:acr:email' });
  });

  itInSociety('counts a wrong code once, in the flow, and forgets it only when the login finishes', async () => {
    const userId = await t.addMember({ userId: 'flow.fail1' }, { password: 'Flow-fail-001', onboarded: true, totpDevices: ['会社用'] });
    const run = await loginAfterPassword(userId);
    const counted = proofAttempts(testDeps(t.idp), '127.0.0.1');
    let attempts = 0;
    const attempt: ProofAttempt = (memberId, wrong, check) => {
      attempts += 1;
      return counted(memberId, wrong, check);
    };
    const factor = await factorAt(run, 'factor');
    const device = totpApp(userId)!.pick();
    const now = Date.now() / 1000;
    const accepted = await Promise.all([-1, 0, 1].map((d) => totpCodeAt(device.secret, now + d * TOTP_PERIOD_SECONDS)));
    const wrong = ['000000', '111111', '222222', '333333'].find((c) => !accepted.includes(c))!;
    const outcome = await factor.verify(await loginHost(run, attempt), { device: device.credentialId!, code: wrong });
    expect(outcome.kind).toBe('show');
    expect(attempts).toBe(1);
    const state = async () =>
      t.idp.sql.one<{ failed: number; wrongs: string }>(
        `select failed_logins as failed, (select count(*) from member_event e where e.member_id = m.id and e.type = 'login.totp_wrong') as wrongs from member m where m.id = $1`,
        [run.member.id],
      );
    expect(await state()).toEqual({ failed: 1, wrongs: '1' });
    const done = await proveTotp(await reopened(run));
    expect(await finishLogin(done, '127.0.0.1')).toMatchObject({ kind: 'finished' });
    expect((await state())!.failed).toBe(0);
  });

  itInSociety('ends a login whose member was locked meanwhile, at the next page and at the finish', async () => {
    const userId = await t.addMember({ userId: 'flow.lock1' }, { password: 'Flow-lock-001', onboarded: true, factor: null });
    const run = await loginAfterPassword(userId);
    await t.idp.sql.run(`update member set locked_until = now() + interval '5 minutes' where id = $1`, [run.member.id]);
    expect(await finishLogin(run, '127.0.0.1')).toEqual({ kind: 'locked' });
    expect((await openLogin(run.store, run.state, { termsVersion: run.termsVersion, requestedAcr: [] }))?.kind).toBe('locked');
  });
});
