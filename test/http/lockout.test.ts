import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';

const INVALID = '無効なユーザIDまたはパスワードです。';
const LOCKED = 'アカウントがロックされているため、ログインできません。しばらく時間をおいてから再度お試しいただくか、ご加入の健保組合までお問い合わせください。';

describe('brute-force protection', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.lockout = { maxFailures: 3, lockSeconds: 60, lockGrowthFactor: 2, locksBeforePermanent: 3 };
      },
    });
  });
  afterAll(async () => { await t.close(); });

  async function attempt(userId: string, password: string): Promise<{ errors: string[]; portal: boolean }> {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const page = await browser.go(request.url, { stopAt: isPortal });
    const answer = await browser.submit(page, '/login', { user_id: userId, password }, { stopAt: isPortal });
    return { errors: pageErrors(answer.html), portal: isPortal(answer.url) };
  }
  const lockState = (userId: string) => t.idp.sql.one<{ failed_logins: number; lock_count: number; locked_until: string | null; locked_permanently: boolean }>(
    'select failed_logins, lock_count, locked_until, locked_permanently from member where user_id = $1', [userId]);
  /** Lets the current temporary lock run out without waiting. */
  const expireLock = (userId: string) => t.idp.sql.run(`update member set locked_until = now() - interval '1 second' where user_id = $1`, [userId]);

  it('locks after consecutive failures, refuses even the right password while locked, and tells the member', async () => {
    await t.addMember({ userId: 'lock00001' }, { password: 'Right-pass-1', onboarded: true });
    expect((await attempt('lock00001', 'wrong-1')).errors).toEqual([INVALID]);
    expect((await attempt('lock00001', 'wrong-2')).errors).toEqual([INVALID]);
    expect((await attempt('lock00001', 'wrong-3')).errors).toEqual([LOCKED]);
    const refused = await attempt('lock00001', 'Right-pass-1');
    expect(refused).toEqual({ errors: [LOCKED], portal: false });
  });

  it('locks longer each time, then until an administrator unlocks', async () => {
    await t.addMember({ userId: 'lock00002' }, { password: 'Right-pass-2', onboarded: true });
    const lengths: number[] = [];
    for (let lock = 1; lock <= 2; lock++) {
      for (let i = 0; i < 3; i++) await attempt('lock00002', 'wrong');
      const state = await lockState('lock00002');
      expect(state!.lock_count).toBe(lock);
      lengths.push(new Date(state!.locked_until!).getTime() - Date.now());
      await expireLock('lock00002');
    }
    expect(lengths[1]! / 1000).toBeGreaterThan(100);
    expect(lengths[0]! / 1000).toBeLessThanOrEqual(60);
    for (let i = 0; i < 3; i++) await attempt('lock00002', 'wrong');
    expect((await lockState('lock00002'))!.locked_permanently).toBe(true);
    expect((await attempt('lock00002', 'Right-pass-2')).errors).toEqual([LOCKED]);
    await t.idp.sql.run(`update member set locked_permanently = false, lock_count = 0, failed_logins = 0 where user_id = 'lock00002'`);
    expect((await attempt('lock00002', 'Right-pass-2')).portal).toBe(true);
  });

  it('resets the consecutive count after a success', async () => {
    await t.addMember({ userId: 'lock00003' }, { password: 'Right-pass-3', onboarded: true });
    await attempt('lock00003', 'wrong');
    await attempt('lock00003', 'wrong');
    expect((await attempt('lock00003', 'Right-pass-3')).portal).toBe(true);
    expect((await lockState('lock00003'))!.failed_logins).toBe(0);
    expect((await attempt('lock00003', 'wrong')).errors).toEqual([INVALID]);
  });

  it('answers an unknown user ID with exactly the same sequence (no enumeration)', async () => {
    await t.addMember({ userId: 'lock00004' }, { password: 'Right-pass-4', onboarded: true });
    const real: string[][] = [];
    const unknown: string[][] = [];
    for (let i = 0; i < 5; i++) {
      real.push((await attempt('lock00004', 'wrong')).errors);
      unknown.push((await attempt('ghost0004', 'wrong')).errors);
    }
    expect(unknown).toEqual(real);
    expect(real).toEqual([[INVALID], [INVALID], [LOCKED], [LOCKED], [LOCKED]]);
  });

  it('limits attempts per client IP with its own message', async () => {
    const limited = await startTestIdp({ configure: (c) => { c.union.loginRateLimit = { perIp: 2, windowSeconds: 60 }; } });
    try {
      const tryOnce = async () => {
        const browser = new BrowserClient();
        const rp = await testRelyingParty(limited.url);
        const page = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
        const answer = await browser.submit(page, '/login', { user_id: 'anyone01', password: 'x' });
        return { status: answer.status, errors: pageErrors(answer.html) };
      };
      await tryOnce();
      await tryOnce();
      const third = await tryOnce();
      expect(third.status).toBe(429);
      expect(third.errors).toEqual(['ログインの試行回数が上限に達しました。しばらく時間をおいてから再度お試しください。']);
    } finally {
      await limited.close();
    }
  });
});
