import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, BrowserClient, isPortal, type TestIdp } from '../support/idp.js';

describe('a member logs in through a portal', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('gets tokens for the right member after the password', async () => {
    const userId = await t.addMember({ userId: 'smoke0001', email: 'smoke@example.jp' }, { password: 'Sm0ke-pass!', onboarded: true });
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'SMOKE0001', 'Sm0ke-pass!');
    expect(isPortal(after.url)).toBe(true);
    const tokens = await rp.exchange(after.url, request);
    expect(tokens.claims()!.preferred_username).toBe(userId);
  });
});
