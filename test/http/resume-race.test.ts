import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  startTestIdp,
  startMailedTestIdp,
  type MailedTestIdp,
  testRelyingParty,
  isPortal,
  BrowserClient,
  totpApp,
  totpFields,
  type TestIdp,
  type Page,
} from '../support/idp.js';
import { decodeEntities, findForm } from '../support/browser-client.js';
import { mailedCode } from '../support/factors.js';
import { SoftwarePasskey } from '../support/software-passkey.js';

/**
 * A finished login is handed back to the portal once. The browser's resume request (/auth/:uid)
 * sent several times at the same moment with the same cookies (a double click, a retried redirect,
 * someone holding the cookies) gets one authorization code; the others get the 「ログインは完了して
 * います」 page, never a 500 and never a second code.
 */
const TRIALS = 5;
const RACERS = 4;
/** Trials of each last form posted twice. */
const FORM_TRIALS = 3;
const FINISHED = '<h1>ログインは完了しています</h1>';
const PASSWORD = 'Resume-pass-1';

type RelyingParty = Awaited<ReturnType<typeof testRelyingParty>>;
type AuthorizationRequest = Awaited<ReturnType<RelyingParty['authorizationRequest']>>;

const isResume = (url: string) => new URL(url).pathname.startsWith('/auth/');
/** The portal callback a redirect leads to, when it carries a code. */
const callbackWithCode = (location: string | null) => (location && isPortal(location) && new URL(location).searchParams.has('code') ? location : null);

describe('a finished login resumed several times at the same moment', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
    // Enough authenticator devices for every login of this file within one 30-second step.
    await t.addMember({ userId: 'resume001' }, { password: PASSWORD, onboarded: true, totpDevices: ['一', '二', '三', '四', '五', '六'] });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Authorize -> password -> TOTP code, stopping where the browser is sent to resume the authorization. */
  async function atResume(userId: string) {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const loginPage = await browser.go(request.url, { stopAt: isPortal });
    const factorPage = await browser.submit(loginPage, '/login', { user_id: userId, password: PASSWORD }, { stopAt: isResume });
    const resume = await browser.submit(factorPage, '/factor', await totpFields(totpApp(userId)!), { stopAt: isResume });
    expect(isResume(resume.url)).toBe(true);
    return { browser, rp, request, resumeUrl: resume.url };
  }

  /** How many of the portal callbacks give tokens when the portal redeems their codes. */
  async function redeemed(rp: RelyingParty, request: AuthorizationRequest, callbacks: string[]): Promise<number> {
    const results = await Promise.allSettled(callbacks.map((callback) => rp.exchange(callback, request)));
    return results.filter((r) => r.status === 'fulfilled').length;
  }

  it('gives a code to exactly one of several simultaneous resume requests; the others see the login is finished', async () => {
    const trials = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { browser, rp, request, resumeUrl } = await atResume('resume001');
      const answers = await Promise.all(Array.from({ length: RACERS }, () => browser.request(resumeUrl)));
      const callbacks = answers.map((r) => callbackWithCode(r.headers.get('location'))).filter((c): c is string => c !== null);
      const others = await Promise.all(
        answers
          .filter((r) => callbackWithCode(r.headers.get('location')) === null)
          .map(async (r) => ({ status: r.status, finished: (await r.text()).includes(FINISHED) })),
      );
      trials.push({ trial, codes: callbacks.length, tokens: await redeemed(rp, request, callbacks), others });
    }
    const others = Array.from({ length: RACERS - 1 }, () => ({ status: 400, finished: true }));
    expect(trials).toEqual(trials.map((_, trial) => ({ trial, codes: 1, tokens: 1, others })));
  });

  it('resumes a single request as before; the same resume replayed later with copied cookies gets the finished page', async () => {
    const { browser, rp, request, resumeUrl } = await atResume('resume001');
    // Someone kept a copy of the cookies the browser sends to the resume URL.
    const copied = browser
      .cookieNames()
      .map((name) => browser.cookie(name)!)
      .filter((c) => new URL(resumeUrl).pathname.startsWith(c.path));
    expect(copied.map((c) => c.name)).toContain('kosmo.resume');
    const back = await browser.go(resumeUrl, { stopAt: isPortal });
    expect(callbackWithCode(back.url)).not.toBeNull();
    expect(await redeemed(rp, request, [back.url])).toBe(1);
    const replay = await fetch(resumeUrl, {
      redirect: 'manual',
      headers: { accept: 'text/html', cookie: copied.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(callbackWithCode(replay.headers.get('location'))).toBeNull();
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain(FINISHED);
  });

  it('sends a login that was handed back but never resumed (the redirect lost) on to the resume, not to the login page', async () => {
    const { browser, rp, request, resumeUrl } = await atResume('resume001');
    const uid = new URL(resumeUrl).pathname.split('/')[2]!;
    const reloaded = await browser.go(`${t.url}/interaction/${uid}/continue`, { stopAt: isPortal });
    expect(callbackWithCode(reloaded.url)).not.toBeNull();
    expect(await redeemed(rp, request, [reloaded.url])).toBe(1);
    const again = await browser.go(resumeUrl, { stopAt: isPortal });
    expect(again.status).toBe(400);
    expect(again.html).toContain(FINISHED);
  });
});

/**
 * The last form of a login (the one whose answer finishes it) posted twice at the same moment, for
 * each way a login can end: the portal gets one code. A code, a one-time password or a passkey
 * challenge is accepted once; where both posts pass (the password alone, two passkey ceremonies),
 * both are sent on to resume, and one resume wins.
 */
describe('the last form of a login posted twice at the same moment', () => {
  let t: MailedTestIdp;
  let passkey: SoftwarePasskey;
  let passkeyMember: string;
  beforeAll(async () => {
    t = await startMailedTestIdp();
    await t.addMember({ userId: 'race.pwd01' }, { password: PASSWORD, onboarded: true, factor: null });
    await t.addMember({ userId: 'race.totp01' }, { password: PASSWORD, onboarded: true, totpDevices: ['一', '二', '三'] });
    await t.addMember({ userId: 'race.mail01', email: 'race.mail01@example.jp' }, { password: PASSWORD, onboarded: true, factor: 'email' });
    await t.addMember({ userId: 'race.key01' }, { password: PASSWORD, onboarded: true });
    passkeyMember = (await t.idp.sql.one<{ id: string }>(`select id from member where user_id = 'race.key01'`))!.id;
    passkey = SoftwarePasskey.forIdp(t.idp);
    await passkey.enrol(t.idp, passkeyMember);
  });
  afterAll(async () => {
    await t.close();
  });

  async function openLogin() {
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const request = await rp.authorizationRequest();
    const loginPage = await browser.go(request.url, { stopAt: isPortal });
    return { browser, rp, request, loginPage };
  }

  /** Sends `post` twice at once (each follows its redirects to the end) and describes what came of it. */
  async function twice(login: Awaited<ReturnType<typeof openLogin>>, post: () => Promise<Page>) {
    const pages = await Promise.all([post(), post()]);
    const callbacks = pages.filter((p) => isPortal(p.url) && new URL(p.url).searchParams.has('code')).map((p) => p.url);
    const results = await Promise.allSettled(callbacks.map((callback) => login.rp.exchange(callback, login.request)));
    const other = pages.find((p) => !callbacks.includes(p.url));
    return {
      codes: callbacks.length,
      tokens: results.filter((r) => r.status === 'fulfilled').length,
      // What the other post ended on: the finished page, or its form again with an error (4xx).
      other: other && (other.html.includes(FINISHED) ? 'finished' : other.status >= 400 && other.status < 500 ? 'refused' : `${other.status} at ${other.url}`),
    };
  }
  const once = { codes: 1, tokens: 1 };
  const finishedOrRefused = expect.stringMatching(/^(finished|refused)$/);

  it('the password of a member without a second factor', async () => {
    for (let trial = 0; trial < FORM_TRIALS; trial++) {
      const login = await openLogin();
      const outcome = await twice(login, () =>
        login.browser.submit(login.loginPage, '/login', { user_id: 'race.pwd01', password: PASSWORD }, { stopAt: isPortal }),
      );
      expect({ trial, ...outcome }).toEqual({ trial, ...once, other: 'finished' });
    }
  });

  it('the code of the authenticator app (accepted once)', async () => {
    for (let trial = 0; trial < FORM_TRIALS; trial++) {
      const login = await openLogin();
      const factorPage = await login.browser.submit(login.loginPage, '/login', { user_id: 'race.totp01', password: PASSWORD }, { stopAt: isPortal });
      const fields = await totpFields(totpApp('race.totp01')!);
      const outcome = await twice(login, () => login.browser.submit(factorPage, '/factor', fields, { stopAt: isPortal }));
      expect({ trial, ...outcome }).toEqual({ trial, ...once, other: finishedOrRefused });
    }
  });

  it('the one-time password mailed to the member (accepted once)', async () => {
    for (let trial = 0; trial < FORM_TRIALS; trial++) {
      t.smtp.clear();
      // Each login mails a new code: no resend cooldown between the trials.
      await t.idp.sql.run(`update rate_limit set window_ends_at = now() - interval '1 second' where bucket like 'email-send:%'`);
      const login = await openLogin();
      const codePage = await login.browser.submit(login.loginPage, '/login', { user_id: 'race.mail01', password: PASSWORD }, { stopAt: isPortal });
      const code = mailedCode((await t.smtp.waitFor((m) => m.to.includes('race.mail01@example.jp'))).text);
      const outcome = await twice(login, () => login.browser.submit(codePage, '/factor', { code }, { stopAt: isPortal }));
      expect({ trial, ...outcome }).toEqual({ trial, ...once, other: finishedOrRefused });
    }
  });

  const passkeyOptions = (page: Page) => JSON.parse(decodeEntities(/data-passkey-login data-options="([^"]*)"/.exec(page.html)![1]!));
  const postAssertion = (browser: BrowserClient, page: Page, assertion: unknown) => {
    const form = findForm(page.html, '/passkey');
    return browser.go(new URL(form.action, page.url).toString(), { form: { ...form.hidden, response: JSON.stringify(assertion) }, stopAt: isPortal });
  };

  it('the same passkey assertion on the login page (its challenge is spent once)', async () => {
    for (let trial = 0; trial < FORM_TRIALS; trial++) {
      const login = await openLogin();
      const assertion = passkey.assert(passkeyOptions(login.loginPage), passkeyMember);
      const outcome = await twice(login, () => postAssertion(login.browser, login.loginPage, assertion));
      expect({ trial, ...outcome }).toEqual({ trial, ...once, other: finishedOrRefused });
    }
  });

  it('two passkey ceremonies of one login (both pass; one resume wins)', async () => {
    for (let trial = 0; trial < FORM_TRIALS; trial++) {
      const login = await openLogin();
      // The login page shown twice (a reload, a second tab): two challenges, two assertions.
      const again = await login.browser.go(login.loginPage.url);
      const pages = [login.loginPage, again];
      const assertions = pages.map((p) => passkey.assert(passkeyOptions(p), passkeyMember));
      let turn = 0;
      const outcome = await twice(login, () => {
        const i = turn++;
        return postAssertion(login.browser, pages[i]!, assertions[i]);
      });
      expect({ trial, ...outcome }).toEqual({ trial, ...once, other: 'finished' });
    }
  });
});
