import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, totpApp, totpFields, type TestIdp } from '../support/idp.js';

/**
 * A finished login is handed back to the portal once. The browser's resume request (/auth/:uid)
 * sent several times at the same moment with the same cookies (a double click, a retried redirect,
 * someone holding the cookies) gets one authorization code; the others get the 「ログインは完了して
 * います」 page, never a 500 and never a second code.
 */
const TRIALS = 5;
const RACERS = 4;
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
  afterAll(async () => { await t.close(); });

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
      const others = await Promise.all(answers.filter((r) => callbackWithCode(r.headers.get('location')) === null)
        .map(async (r) => ({ status: r.status, finished: (await r.text()).includes(FINISHED) })));
      trials.push({ trial, codes: callbacks.length, tokens: await redeemed(rp, request, callbacks), others });
    }
    const others = Array.from({ length: RACERS - 1 }, () => ({ status: 400, finished: true }));
    expect(trials).toEqual(trials.map((_, trial) => ({ trial, codes: 1, tokens: 1, others })));
  });

  it('resumes a single request as before; the same resume replayed later with copied cookies gets the finished page', async () => {
    const { browser, rp, request, resumeUrl } = await atResume('resume001');
    // Someone kept a copy of the cookies the browser sends to the resume URL.
    const copied = browser.cookieNames().map((name) => browser.cookie(name)!).filter((c) => new URL(resumeUrl).pathname.startsWith(c.path));
    expect(copied.map((c) => c.name)).toContain('kosmo.resume');
    const back = await browser.go(resumeUrl, { stopAt: isPortal });
    expect(callbackWithCode(back.url)).not.toBeNull();
    expect(await redeemed(rp, request, [back.url])).toBe(1);
    const replay = await fetch(resumeUrl, { redirect: 'manual', headers: { accept: 'text/html', cookie: copied.map((c) => `${c.name}=${c.value}`).join('; ') } });
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
