import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type Router from '@koa/router';
import { createLogger } from '../../src/logger.js';
import { interactionRouter } from '../../src/http/interaction/routes.js';
import { accountRouter } from '../../src/http/account/routes.js';
import { recoveryRouter } from '../../src/http/recovery/routes.js';
import { verifyEmailRouter } from '../../src/http/verify-email.js';
import { startMailedTestIdp, type MailedTestIdp, loginThroughPortal, isPortal, BrowserClient, testRelyingParty } from '../support/idp.js';
import { pageErrors } from '../support/browser-client.js';

const SESSION = '画面の有効期限が切れたか、不正な送信です。もう一度入力してください。';
const SESSION_CONSOLE = '画面の有効期限が切れたか、不正な送信です。もう一度お試しください。';

/**
 * CSRF is checked in one place (src/http/form.ts), before a form is parsed: every POST route of our
 * pages, read from the routers themselves (a route added tomorrow is covered), is posted with a
 * live session and plausible fields but without this browser's token, and must answer with the
 * page again, never with what the form does.
 */
describe('every form refuses a post without the CSRF token', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp({ log: createLogger('error') });
  });
  afterAll(async () => {
    await t?.close();
  });

  const postRoutes = (router: Router) => router.stack.filter((layer) => layer.methods.includes('POST')).map((layer) => String(layer.path));

  it('finds the routes of every page router', () => {
    const deps = { ...t.idp, log: createLogger('silent') };
    const all = [interactionRouter(deps), accountRouter(deps), recoveryRouter(deps), verifyEmailRouter(deps)].flatMap(postRoutes);
    // A sample of each router, so an empty list (a router API change) cannot pass silently.
    expect(all).toEqual(
      expect.arrayContaining([
        '/interaction/:uid/login',
        '/interaction/:uid/step/:name',
        '/account/password',
        '/account/sessions/:uid/logout',
        '/recovery/password/reset/:token',
        '/verify-email/:token',
      ]),
    );
    expect(all.length).toBeGreaterThan(20);
  });

  it('answers each with the page again (400 and the session message, or back to the same page), and does nothing', async () => {
    const deps = { ...t.idp, log: createLogger('silent') };
    await t.addMember({ userId: 'csrfall01', email: 'csrfall01@example.jp' }, { password: 'Csrfall-pass-1', onboarded: true });
    const member = await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['csrfall01']);
    const device = await t.idp.sql.one<{ id: string }>("select id from credential where member_id = $1 and kind = 'totp' limit 1", [member!.id]);

    // A console signed in, a login under way in another browser, a live reset link.
    const console_ = new BrowserClient();
    const { after } = await loginThroughPortal(t.url, console_, 'csrfall01', 'Csrfall-pass-1');
    expect(isPortal(after.url)).toBe(true);
    expect((await console_.go(`${t.url}/account`)).url).toBe(`${t.url}/account`);
    const sessionUid = (await t.idp.sql.one<{ session_uid: string }>('select session_uid from session_device where member_id = $1 limit 1', [member!.id]))!
      .session_uid;
    const login = new BrowserClient();
    const loginPage = await login.go((await (await testRelyingParty(t.url)).authorizationRequest()).url, { stopAt: isPortal });
    const uid = /\/interaction\/([^/?#]+)/.exec(loginPage.url)![1]!;
    await login.submit(await login.go(`${t.url}/recovery/password`), '/recovery/password', { user_id: 'csrfall01' });
    const mail = await t.smtp.waitFor((m) => m.to.includes('csrfall01@example.jp'));
    const resetToken = /\/recovery\/password\/reset\/([^/?#\s]+)/.exec(mail.links.find((l) => l.includes('/reset/'))!)![1]!;

    const params: Record<string, string> = { uid, name: 'terms', id: device!.id, kind: 'totp', token: resetToken };
    const fields = { user_id: 'csrfall01', password: 'Csrfall-pass-1', code: '123456', email: 'csrfall01@example.jp', locale: 'en', method: 'email' };
    const before = await t.idp.sql.rows('select type from member_event where member_id = $1 order by id', [member!.id]);

    const routers: [Router, BrowserClient][] = [
      [interactionRouter(deps), login],
      [accountRouter(deps), console_],
      [recoveryRouter(deps), login],
      [verifyEmailRouter(deps), login],
    ];
    const answers: string[] = [];
    for (const [router, browser] of routers) {
      for (const route of postRoutes(router)) {
        const path = route.replace(/:(\w+)/g, (_m, p: string) => (p === 'uid' && route.startsWith('/account') ? sessionUid : params[p]!));
        const response = await browser.request(`${t.url}${path}`, { form: { ...fields, _csrf: 'forged' } });
        const html = await response.text();
        const location = response.headers.get('location');
        const samePage = response.status === 303 && location !== null && new URL(location, t.url).pathname === path;
        const refused = response.status === 400 && pageErrors(html).some((e) => e === SESSION || e === SESSION_CONSOLE);
        answers.push(`${route} ${refused || samePage ? 'refused' : `answered ${response.status} ${location ?? pageErrors(html).join()}`}`);
      }
    }
    expect(answers.filter((a) => !a.endsWith(' refused'))).toEqual([]);
    // Nothing was done for the member: no event, the console still signed in, the link still usable.
    expect(await t.idp.sql.rows('select type from member_event where member_id = $1 order by id', [member!.id])).toEqual(before);
    expect((await console_.go(`${t.url}/account`)).url).toBe(`${t.url}/account`);
    expect((await login.go(`${t.url}/recovery/password/reset/${resetToken}`)).html).toContain('csrfall01');
  });
});
