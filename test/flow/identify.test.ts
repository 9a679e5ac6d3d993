import { describe, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { itInSociety } from '../support/society.js';
import { startTestIdp, type TestIdp } from '../support/idp.js';
import { testDeps } from '../support/factors.js';
import { SoftwarePasskey } from '../support/software-passkey.js';
import { identify, type IdentifyRequest } from '../../src/flow/identify.js';
import { passkeyIdentifier, passwordIdentifier } from '../../src/factors/index.js';
import { discoverableLoginOptions } from '../../src/factors/passkey/ceremony.js';
import { passkeyContext } from '../../src/factors/passkey/relying-party.js';

/**
 * The login's first stage without HTTP: an identifier (the password, a passkey alone) says whom its
 * input names and checks the proof; the flow counts the failures and decides "locked", with the lock.
 */
describe('identifying the member (src/flow/identify.ts)', () => {
  let t: TestIdp;
  const MAX_FAILURES = 3;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.lockout = { maxFailures: MAX_FAILURES, lockSeconds: 300, lockGrowthFactor: 2, locksBeforePermanent: 3 };
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await t.idp.sql.run('delete from rate_limit');
  });

  const request = (extra: Partial<IdentifyRequest> = {}): IdentifyRequest => ({ deps: testDeps(t.idp), ip: '192.0.2.10', remember: false, ...extra });
  const idOf = async (userId: string) => (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
  /** The login events of a member (a fixture's device setups left out). */
  const eventTypes = async (memberId: string) =>
    (await t.idp.sql.rows<{ type: string }>(`select type from member_event where member_id = $1 and type like 'login.%' order by id`, [memberId])).map(
      (e) => e.type,
    );
  const failedLogins = async (memberId: string) => (await t.idp.sql.one<{ n: number }>('select failed_logins as n from member where id = $1', [memberId]))!.n;

  itInSociety('the password: the right one identifies the member (amr pwd, no second factor yet), a wrong one is counted by the flow', async () => {
    const userId = await t.addMember({ userId: 'ident.pwd1' }, { password: 'Ident-pwd-0001', onboarded: true, factor: null, totpDevices: [] });
    const id = await idOf(userId);
    expect(await identify(request(), passwordIdentifier, { userId: 'IDENT.PWD1', password: 'Ident-pwd-0002' })).toEqual({ kind: 'invalid' });
    expect(await failedLogins(id)).toBe(1);
    const found = await identify(request({ remember: true }), passwordIdentifier, { userId, password: 'Ident-pwd-0001' });
    expect(found).toMatchObject({ kind: 'identified', state: { memberId: id, remember: true, amr: ['pwd'] } });
    expect(found.kind === 'identified' && found.state.secondFactor).toBeUndefined();
    // Only the whole login forgets the failures (finishLogin), not the password.
    expect(await failedLogins(id)).toBe(1);
    expect(await eventTypes(id)).toEqual(['login.password_wrong', 'login.password_ok']);
  });

  itInSociety('the password: the flow locks after maxFailures, says until when, and then refuses even the right one before checking it', async () => {
    const userId = await t.addMember({ userId: 'ident.lock1' }, { password: 'Ident-lock-001', onboarded: true, factor: null, totpDevices: [] });
    const id = await idOf(userId);
    for (let i = 1; i < MAX_FAILURES; i++)
      expect(await identify(request(), passwordIdentifier, { userId, password: 'wrong-password' })).toEqual({ kind: 'invalid' });
    const locked = await identify(request(), passwordIdentifier, { userId, password: 'wrong-password' });
    expect(locked).toMatchObject({ kind: 'locked', lock: { lockedPermanently: false } });
    expect(locked.kind === 'locked' && locked.lock.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 290_000);
    expect((await identify(request(), passwordIdentifier, { userId, password: 'Ident-lock-001' })).kind).toBe('locked');
    expect((await eventTypes(id)).slice(-2)).toEqual(['login.locked', 'login.refused_locked']);
  });

  itInSociety('an unknown user ID answers as a member would, and locks the same way, on its own counters', async () => {
    for (let i = 1; i < MAX_FAILURES; i++)
      expect(await identify(request(), passwordIdentifier, { userId: 'nobody.ident1', password: 'whatever-1' })).toEqual({ kind: 'invalid' });
    expect(await identify(request(), passwordIdentifier, { userId: 'nobody.ident1', password: 'whatever-1' })).toMatchObject({ kind: 'locked' });
    expect(await identify(request(), passwordIdentifier, { userId: 'NOBODY.IDENT1', password: 'whatever-1' })).toMatchObject({ kind: 'locked' });
  });

  itInSociety('only failures count against the client IP', async () => {
    await t.idp.sql.run('delete from rate_limit');
    const userId = await t.addMember({ userId: 'ident.ip1' }, { password: 'Ident-ip-0001', onboarded: true, factor: null, totpDevices: [] });
    const perIp = t.config.union.loginRateLimit.perIp;
    for (let i = 0; i < perIp + 2; i++)
      expect((await identify(request({ ip: '192.0.2.20' }), passwordIdentifier, { userId, password: 'Ident-ip-0001' })).kind).toBe('identified');
    for (let i = 0; i < perIp; i++) await identify(request({ ip: '192.0.2.21' }), passwordIdentifier, { userId: `nobody.ip${i}`, password: 'x-x-x-x-x' });
    expect(await identify(request({ ip: '192.0.2.21' }), passwordIdentifier, { userId, password: 'Ident-ip-0001' })).toEqual({ kind: 'rate_limited' });
  });

  itInSociety("a re-authentication accepts only the session's member", async () => {
    const userId = await t.addMember({ userId: 'ident.reauth1' }, { password: 'Ident-reauth-1', onboarded: true, factor: null, totpDevices: [] });
    const other = await idOf(await t.addMember({ userId: 'ident.reauth2' }, { password: 'Ident-reauth-2', onboarded: true, factor: null, totpDevices: [] }));
    expect(await identify(request({ only: other }), passwordIdentifier, { userId, password: 'Ident-reauth-1' })).toEqual({ kind: 'invalid' });
    expect((await identify(request({ only: await idOf(userId) }), passwordIdentifier, { userId, password: 'Ident-reauth-1' })).kind).toBe('identified');
  });

  describe('a passkey alone', () => {
    const flowId = '/interaction/ident-test/passkey';
    const assertion = (passkey: SoftwarePasskey, memberId: string) =>
      JSON.stringify(passkey.assert(discoverableLoginOptions(passkeyContext(t.config, flowId)), memberId));

    itInSociety('identifies the member and stands as the second factor (its own amr, the device that proved it)', async () => {
      const id = await idOf(await t.addMember({ userId: 'ident.key1' }, { password: 'Ident-key-0001', onboarded: true, factor: 'passkey' }));
      const passkey = SoftwarePasskey.forIdp(t.idp);
      await passkey.enrol(t.idp, id);
      const answer = assertion(passkey, id);
      const found = await identify(request(), passkeyIdentifier, { response: answer, flowId });
      if (found.kind !== 'identified') throw new Error(`not identified: ${found.kind}`);
      expect(found.member?.id).toBe(id);
      expect(found.state).toMatchObject({ memberId: id, amr: ['hwk', 'user'], secondFactor: { kind: 'passkey' } });
      expect(found.state.secondFactor?.deviceId).toEqual(
        (await t.idp.sql.one<{ id: string }>(`select id from credential where member_id = $1 and kind = 'passkey'`, [id]))!.id,
      );
      expect(await eventTypes(id)).toContain('login.passkey_ok');
      // The same answer again: its challenge is spent.
      expect(await identify(request(), passkeyIdentifier, { response: answer, flowId })).toEqual({ kind: 'invalid' });
    });

    itInSociety("is refused for a locked member, with the member's lock, and for a copy whose counter did not grow", async () => {
      const id = await idOf(await t.addMember({ userId: 'ident.key2' }, { password: 'Ident-key-0002', onboarded: true, factor: 'passkey' }));
      const passkey = SoftwarePasskey.forIdp(t.idp);
      await passkey.enrol(t.idp, id);
      passkey.signCount = 5;
      expect((await identify(request(), passkeyIdentifier, { response: assertion(passkey, id), flowId })).kind).toBe('identified');
      const counter = await identify(request(), passkeyIdentifier, { response: assertion(passkey, id), flowId });
      expect(counter).toMatchObject({ kind: 'counter', member: { id } });
      await t.idp.sql.run(`update member set locked_until = now() + interval '5 minutes', lock_count = 1 where id = $1`, [id]);
      passkey.signCount = 6;
      const locked = await identify(request(), passkeyIdentifier, { response: assertion(passkey, id), flowId });
      expect(locked).toMatchObject({ kind: 'locked', member: { id }, lock: { lockedPermanently: false } });
      expect(await failedLogins(id)).toBe(0);
    });

    itInSociety("a re-authentication accepts no other member's passkey", async () => {
      const id = await idOf(await t.addMember({ userId: 'ident.key3' }, { password: 'Ident-key-0003', onboarded: true, factor: 'passkey' }));
      const passkey = SoftwarePasskey.forIdp(t.idp);
      await passkey.enrol(t.idp, id);
      expect(await identify(request({ only: await idOf('ident.pwd1') }), passkeyIdentifier, { response: assertion(passkey, id), flowId })).toEqual({
        kind: 'invalid',
      });
    });
  });
});
