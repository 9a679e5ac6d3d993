import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, loginThroughPortal, type TestIdp, type Page } from '../support/idp.js';
import { decodeEntities, findForm, pageErrors } from '../support/browser-client.js';
import { SoftwarePasskey } from '../support/software-passkey.js';

const ja = JSON.parse(readFileSync('locales/ja.json', 'utf8')) as Record<string, Record<string, string>>;
const UNION = 'コスモ健康保険組合';
const RATE_LIMITED = ja.login!.error_rate_limited!;
const COUNTER_ON_LOGIN_PAGE = ja.login!.error_passkey_counter!.replace('{union}', UNION);
const PASSWORD = 'Passkey-pass-1';

async function openLogin(url: string) {
  const browser = new BrowserClient();
  const rp = await testRelyingParty(url);
  const request = await rp.authorizationRequest();
  const loginPage = await browser.go(request.url, { stopAt: isPortal });
  return { browser, rp, request, loginPage };
}
const gotCode = (page: Page) => isPortal(page.url) && new URL(page.url).searchParams.has('code');
const loginPageOptions = (page: Page) => JSON.parse(decodeEntities(/data-passkey-login data-options="([^"]*)"/.exec(page.html)![1]!));
const factorPageOptions = (page: Page) => JSON.parse(decodeEntities(/data-passkey="authenticate" data-options="([^"]*)"/.exec(page.html)![1]!));
function post(browser: BrowserClient, page: Page, actionPart: string, assertion: unknown): Promise<Page> {
  const form = findForm(page.html, actionPart);
  return browser.go(new URL(decodeEntities(form.action), page.url).toString(), {
    form: { ...form.hidden, response: JSON.stringify(assertion) },
    stopAt: isPortal,
  });
}

describe('passkey-only login and the per-IP budget: only failures count (issue 17, item 5)', () => {
  let t: TestIdp;
  let passkey: SoftwarePasskey;
  let memberId: string;
  const PER_IP = 3;
  beforeAll(async () => {
    t = await startTestIdp({
      configure: (c) => {
        c.union.loginRateLimit = { perIp: PER_IP, windowSeconds: 900 };
      },
    });
    await t.addMember({ userId: 'office.key1' }, { password: PASSWORD, onboarded: true, factor: 'passkey' });
    await t.addMember({ userId: 'office.pwd1' }, { password: PASSWORD, onboarded: true });
    memberId = (await t.idp.sql.one<{ id: string }>(`select id from member where user_id = 'office.key1'`))!.id;
    passkey = SoftwarePasskey.forIdp(t.idp);
    await passkey.enrol(t.idp, memberId);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.idp.sql.run('delete from rate_limit');
  });

  const passkeyLogin = async (key = passkey) => {
    const { browser, loginPage } = await openLogin(t.url);
    return post(browser, loginPage, '/passkey', key.assert(loginPageOptions(loginPage), memberId));
  };

  it(`${3 * PER_IP} successful passkey logins from one address leave a password login after them alone`, async () => {
    for (let i = 0; i < 3 * PER_IP; i++) expect(gotCode(await passkeyLogin())).toBe(true);
    const { after } = await loginThroughPortal(t.url, new BrowserClient(), 'office.pwd1', PASSWORD);
    expect(gotCode(after)).toBe(true);
  });

  it('failed passkey assertions do count: after perIp of them, the address is refused, password logins included', async () => {
    const stranger = SoftwarePasskey.forIdp(t.idp);
    for (let i = 0; i < PER_IP; i++) {
      const refused = await passkeyLogin(stranger);
      expect(refused.status).toBe(401);
      expect(pageErrors(refused.html)).toEqual([ja.login!.error_passkey]);
    }
    const limited = await passkeyLogin();
    expect(limited.status).toBe(429);
    expect(pageErrors(limited.html)).toEqual([RATE_LIMITED]);
    const { browser, loginPage } = await openLogin(t.url);
    const password = await browser.submit(loginPage, '/login', { user_id: 'office.pwd1', password: PASSWORD });
    expect(password.status).toBe(429);
    expect(pageErrors(password.html)).toEqual([RATE_LIMITED]);
  });

  it('refuses a locked member, saying how long the lock lasts, and counts that as a failure', async () => {
    await t.idp.sql.run(`update member set locked_until = now() + interval '5 minutes' where id = $1`, [memberId]);
    try {
      const refused = await passkeyLogin();
      expect(refused.status).toBe(401);
      expect(gotCode(refused)).toBe(false);
      expect(pageErrors(refused.html)).toEqual([ja.login!.error_locked_for!.replace('{minutes}', '5').replace('{union}', UNION)]);
      const bucket = await t.idp.sql.one<{ count: number }>(`select count from rate_limit where bucket like 'login-ip:%'`);
      expect(bucket?.count).toBe(1);
    } finally {
      await t.idp.sql.run('update member set locked_until = null where id = $1', [memberId]);
    }
  });
});

describe('the sign counter, the same rule after the password and alone (issue 17, item 12)', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function memberWithPasskey(userId: string): Promise<{ id: string; passkey: SoftwarePasskey }> {
    await t.addMember({ userId }, { password: PASSWORD, onboarded: true, factor: 'passkey' });
    const { id } = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!;
    const passkey = SoftwarePasskey.forIdp(t.idp);
    await passkey.enrol(t.idp, id);
    return { id, passkey };
  }
  const alone = async (m: { id: string; passkey: SoftwarePasskey }) => {
    const { browser, loginPage } = await openLogin(t.url);
    return post(browser, loginPage, '/passkey', m.passkey.assert(loginPageOptions(loginPage), m.id));
  };
  const afterPassword = async (userId: string, m: { id: string; passkey: SoftwarePasskey }) => {
    const { browser, loginPage } = await openLogin(t.url);
    const factor = await browser.submit(loginPage, '/login', { user_id: userId, password: PASSWORD }, { stopAt: isPortal });
    expect(new URL(factor.url).pathname).toMatch(/\/factor$/);
    return post(browser, factor, '/factor', m.passkey.assert(factorPageOptions(factor), m.id));
  };
  const stored = async (id: string) =>
    Number((await t.idp.sql.one<{ sign_count: string }>(`select sign_count from credential where member_id = $1 and kind = 'passkey'`, [id]))!.sign_count);
  const events = async (id: string) =>
    Number(
      (await t.idp.sql.one<{ n: string }>(`select count(*) as n from member_event where member_id = $1 and type = 'login.passkey_counter_not_increased'`, [
        id,
      ]))!.n,
    );

  it('accepts a counter of 0 on both sides (synced passkeys) in both paths, again and again', async () => {
    const m = await memberWithPasskey('counter.zero');
    for (let i = 0; i < 2; i++) {
      expect(gotCode(await alone(m))).toBe(true);
      expect(gotCode(await afterPassword('counter.zero', m))).toBe(true);
    }
    expect(await stored(m.id)).toBe(0);
    expect(await events(m.id)).toBe(0);
  });

  it('refuses a non-zero counter that did not grow in both paths, with its own words, records it, and counts no failure', async () => {
    const m = await memberWithPasskey('counter.clone');
    m.passkey.signCount = 7;
    expect(gotCode(await alone(m))).toBe(true);
    expect(await stored(m.id)).toBe(7);

    // The same counter again (a copy of the authenticator), then a lower one, then 0.
    for (const count of [7, 3, 0]) {
      m.passkey.signCount = count;
      const login = await alone(m);
      expect(gotCode(login)).toBe(false);
      expect(login.status).toBe(401);
      expect(pageErrors(login.html)).toEqual([COUNTER_ON_LOGIN_PAGE]);

      const step = await afterPassword('counter.clone', m);
      expect(gotCode(step)).toBe(false);
      expect(step.status).toBe(400);
      expect(step.html).toContain(ja.factor_passkey!.counter_title);
      expect(step.html).toContain(ja.factor_passkey!.counter_lead);
      // Not FAQ Q16's password-manager checks: they have nothing to do with a counter.
      expect(step.html).not.toContain(ja.factor_passkey!.invalid_title);
      expect(step.html).not.toContain(ja.factor_passkey!.invalid_check_installed);
    }
    expect(await stored(m.id)).toBe(7);
    expect(await events(m.id)).toBe(6);
    const event = await t.idp.sql.one<{ detail: Record<string, unknown> }>(
      `select detail from member_event where member_id = $1 and type = 'login.passkey_counter_not_increased' order by created_at desc limit 1`,
      [m.id],
    );
    expect(event!.detail).toMatchObject({ stored: 7, received: 0 });
    expect((await t.idp.sql.one<{ failed_logins: number }>('select failed_logins from member where id = $1', [m.id]))!.failed_logins).toBe(0);

    // The genuine authenticator counts on: accepted in both paths.
    m.passkey.signCount = 8;
    expect(gotCode(await alone(m))).toBe(true);
    m.passkey.signCount = 9;
    expect(gotCode(await afterPassword('counter.clone', m))).toBe(true);
    expect(await stored(m.id)).toBe(9);
  });
});
