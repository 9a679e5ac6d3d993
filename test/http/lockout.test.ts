import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, completeTotp, type TestIdp } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';
import { unlockMember } from '../../src/admin/member-unlock.js';

const ja = JSON.parse(readFileSync('locales/ja.json', 'utf8')) as { login: Record<string, string> };
const INVALID = '無効なユーザIDまたはパスワードです。';
const UNION = 'コスモ健康保険組合';
/** How long the lock lasts (FAQ Q5/Q6): the first lock here is 60 s, the second 120 s, the third for good. */
const lockedFor = (minutes: number) => ja.login.error_locked_for!.replace('{minutes}', String(minutes)).replace('{union}', UNION);
const LOCKED = lockedFor(1);
const LOCKED_AGAIN = lockedFor(2);
const LOCKED_FOR_GOOD = ja.login.error_locked_permanent!.replace('{union}', UNION);
const RATE_LIMITED = 'ログインの試行回数が上限に達しました。しばらく時間をおいてから再度お試しください。';

describe('brute-force protection', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.lockout = { maxFailures: 3, lockSeconds: 60, lockGrowthFactor: 2, locksBeforePermanent: 3 };
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  async function attempt(userId: string, password: string): Promise<{ status: number; errors: string[]; portal: boolean }> {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const page = await browser.go(request.url, { stopAt: isPortal });
    // A right password leads to the member's TOTP code; the login counts as a success only then.
    const answer = await completeTotp(browser, await browser.submit(page, '/login', { user_id: userId, password }, { stopAt: isPortal }), userId);
    return { status: answer.status, errors: pageErrors(answer.html), portal: isPortal(answer.url) };
  }
  const lockState = async (userId: string) => {
    const row = await t.idp.sql.one<{ failed_logins: number; lock_count: number; locked_until: string | null; locked_permanently: boolean }>(
      'select failed_logins, lock_count, locked_until, locked_permanently from member where user_id = $1',
      [userId],
    );
    return { ...row!, lockedSeconds: row!.locked_until ? (Date.parse(row!.locked_until) - Date.now()) / 1000 : null };
  };
  /** Lets the current temporary lock run out without waiting. */
  const expireLock = (userId: string) =>
    t.idp.sql.run(`update member set locked_until = now() - interval '1 second' where user_id = $1 and locked_until is not null`, [userId]);
  /** The same for every unknown user ID's counter (kept under an opaque subject). */
  const expireUnknownLocks = () => t.idp.sql.run(`update login_lockout set locked_until = now() - interval '1 second' where locked_until is not null`);

  it('locks after the configured consecutive failures and tells the member to wait or contact the 健保組合', async () => {
    expect(LOCKED).toBe(
      'アカウントがロックされているため、ログインできません。ロックは約1分後に解除されますので、時間をおいてから再度お試しください。お急ぎの場合は、コスモ健康保険組合までお問い合わせください。',
    );
    expect(LOCKED_FOR_GOOD).toBe(
      'アカウントがロックされているため、ログインできません。ロックの解除は、コスモ健康保険組合までお問い合わせください。なお、「パスワードを忘れた方はこちら」からパスワードを再設定した場合も、ロックは解除されます。',
    );
    await t.addMember({ userId: 'lock00001' }, { password: 'Right-pass-1', onboarded: true });
    expect(await attempt('lock00001', 'wrong-1')).toEqual({ status: 401, errors: [INVALID], portal: false });
    expect(await attempt('lock00001', 'wrong-2')).toEqual({ status: 401, errors: [INVALID], portal: false });
    expect(await attempt('lock00001', 'wrong-3')).toEqual({ status: 401, errors: [LOCKED], portal: false });
    const state = await lockState('lock00001');
    expect(state).toMatchObject({ failed_logins: 0, lock_count: 1, locked_permanently: false });
    expect(state.lockedSeconds).toBeGreaterThan(50);
    expect(state.lockedSeconds).toBeLessThanOrEqual(60);
  });

  it('refuses even the right password while locked, and lets it in once the lock has run out', async () => {
    await t.addMember({ userId: 'lock00005' }, { password: 'Right-pass-5', onboarded: true });
    for (let i = 0; i < 3; i++) await attempt('lock00005', 'wrong');
    expect(await attempt('lock00005', 'Right-pass-5')).toEqual({ status: 401, errors: [LOCKED], portal: false });
    expect((await lockState('lock00005')).lock_count).toBe(1);
    await expireLock('lock00005');
    expect((await attempt('lock00005', 'Right-pass-5')).portal).toBe(true);
  });

  it('locks longer each time, then permanently until an administrator unlocks', async () => {
    await t.addMember({ userId: 'lock00002' }, { password: 'Right-pass-2', onboarded: true });
    const lengths: number[] = [];
    for (let lock = 1; lock <= 2; lock++) {
      for (let i = 0; i < 3; i++) await attempt('lock00002', 'wrong');
      const state = await lockState('lock00002');
      expect(state.lock_count).toBe(lock);
      expect(state.locked_permanently).toBe(false);
      lengths.push(state.lockedSeconds!);
      await expireLock('lock00002');
    }
    expect(lengths[0]).toBeGreaterThan(55);
    expect(lengths[0]).toBeLessThanOrEqual(60);
    expect(lengths[1]).toBeGreaterThan(115);
    expect(lengths[1]).toBeLessThanOrEqual(120);

    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await attempt('lock00002', 'wrong')).errors);
    expect(answers).toEqual([[INVALID], [INVALID], [LOCKED_FOR_GOOD]]);
    expect(await lockState('lock00002')).toMatchObject({ lock_count: 3, locked_permanently: true, locked_until: null });
    // No amount of waiting helps: still refused, with the same message.
    await expireLock('lock00002');
    expect(await attempt('lock00002', 'Right-pass-2')).toEqual({ status: 401, errors: [LOCKED_FOR_GOOD], portal: false });

    const unlocked = await unlockMember({ sql: t.idp.sql, config: t.config }, { userId: 'lock00002' });
    expect(unlocked.exitCode).toBe(0);
    expect(unlocked.data).toEqual({ wasLocked: true });
    expect(await lockState('lock00002')).toMatchObject({ failed_logins: 0, lock_count: 0, locked_permanently: false, locked_until: null });
    expect((await attempt('lock00002', 'Right-pass-2')).portal).toBe(true);
  });

  it('starts counting again after a success', async () => {
    await t.addMember({ userId: 'lock00003' }, { password: 'Right-pass-3', onboarded: true });
    await attempt('lock00003', 'wrong');
    await attempt('lock00003', 'wrong');
    expect((await lockState('lock00003')).failed_logins).toBe(2);
    expect((await attempt('lock00003', 'Right-pass-3')).portal).toBe(true);
    expect((await lockState('lock00003')).failed_logins).toBe(0);
    expect((await attempt('lock00003', 'wrong')).errors).toEqual([INVALID]);
    expect((await attempt('lock00003', 'wrong')).errors).toEqual([INVALID]);
    expect((await attempt('lock00003', 'wrong')).errors).toEqual([LOCKED]);
  });

  it('counts failures of the initial password of a provisioned member the same way', async () => {
    await t.addMember({ userId: 'lock00006', symbol: '31', number: '2222222', birthdate: '1990-01-02' });
    for (let i = 0; i < 2; i++) expect((await attempt('LOCK00006', 'wrong')).errors).toEqual([INVALID]);
    expect((await attempt('lock00006', 'wrong')).errors).toEqual([LOCKED]);
    expect((await attempt('lock00006', '31222222219900102')).errors).toEqual([LOCKED]);
  });

  it('counts simultaneous wrong passwords once: none slips past the lock, none climbs past it', async () => {
    await t.addMember({ userId: 'lock00007' }, { password: 'Right-pass-7', onboarded: true });
    const opened = await Promise.all(
      Array.from({ length: 9 }, async () => {
        const browser = new BrowserClient();
        const rp = await testRelyingParty(t.url);
        return { browser, page: await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal }) };
      }),
    );
    const answers = await Promise.all(opened.map(({ browser, page }) => browser.submit(page, '/login', { user_id: 'lock00007', password: 'wrong' })));
    expect(answers.map((a) => pageErrors(a.html)).filter(([e]) => e === LOCKED).length).toBeGreaterThanOrEqual(1);
    const state = await lockState('lock00007');
    expect(state.lock_count).toBe(1);
    expect(state.locked_permanently).toBe(false);
    expect((await attempt('lock00007', 'Right-pass-7')).errors).toEqual([LOCKED]);
  });

  it('answers an unknown user ID with exactly the same sequence, through every lock (no enumeration)', async () => {
    await t.addMember({ userId: 'lock00004' }, { password: 'Right-pass-4', onboarded: true });
    async function sequence(userId: string, expire: () => Promise<unknown>): Promise<string[]> {
      const seen: string[] = [];
      const note = (a: { status: number; errors: string[] }) => seen.push(`${a.status} ${a.errors.join('|')}`);
      for (let lock = 0; lock < 3; lock++) {
        for (let i = 0; i < 3; i++) note(await attempt(userId, 'wrong'));
        note(await attempt(userId, 'wrong'));
        await expire();
      }
      note(await attempt(userId, 'wrong'));
      return seen;
    }
    const real = await sequence('lock00004', () => expireLock('lock00004'));
    const unknown = await sequence('ghost0004', expireUnknownLocks);
    expect(unknown).toEqual(real);
    const i = `401 ${INVALID}`;
    const l = `401 ${LOCKED}`;
    const l2 = `401 ${LOCKED_AGAIN}`;
    const lp = `401 ${LOCKED_FOR_GOOD}`;
    expect(real).toEqual([i, i, l, l, i, i, l2, l2, i, i, lp, lp, lp]);
    expect(await lockState('lock00004')).toMatchObject({ locked_permanently: true });
  });
});

describe('the per-IP limit on login attempts', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.loginRateLimit = { perIp: 3, windowSeconds: 60 };
      },
    });
    await t.addMember({ userId: 'ratelimit1' }, { password: 'Rate-pass-1', onboarded: true });
  });
  afterAll(async () => {
    await t.close();
  });

  async function attempt(userId: string, password: string) {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    // A right password leads to the member's TOTP code; the login counts as a success only then.
    const answer = await completeTotp(browser, await browser.submit(page, '/login', { user_id: userId, password }, { stopAt: isPortal }), userId);
    return { status: answer.status, errors: pageErrors(answer.html), portal: isPortal(answer.url) };
  }

  it('answers with its own message once one IP has tried too often, across user IDs, even with the right password', async () => {
    expect((await attempt('anyone01', 'x')).errors).toEqual([INVALID]);
    expect((await attempt('anyone02', 'x')).errors).toEqual([INVALID]);
    expect((await attempt('ratelimit1', 'x')).errors).toEqual([INVALID]);
    expect(await attempt('anyone03', 'x')).toEqual({ status: 429, errors: [RATE_LIMITED], portal: false });
    expect(await attempt('ratelimit1', 'Rate-pass-1')).toEqual({ status: 429, errors: [RATE_LIMITED], portal: false });
    // Refused attempts did not count against the member's own lockout.
    const row = await t.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where user_id = $1', ['ratelimit1']);
    expect(row!.failed_logins).toBe(1);
  });

  it('lets the IP try again once its window has passed', async () => {
    await t.idp.sql.run(`update rate_limit set window_ends_at = now() - interval '1 second'`);
    expect((await attempt('ratelimit1', 'Rate-pass-1')).portal).toBe(true);
  });
});
