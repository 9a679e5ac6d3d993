import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { itInSociety } from '../support/society.js';
import { startMailedTestIdp, type MailedTestIdp, loginThroughPortal, isPortal, BrowserClient, passwordAtPortal } from '../support/idp.js';
import { pageErrors, withoutRequestDetails, type Page } from '../support/browser-client.js';
import { testHost } from '../support/factors.js';
import { userIdAndMethodStep } from '../../src/steps/user-id-and-method.js';
import { hitRateLimit } from '../../src/db/rate-limit.js';

const TAKEN = '他のアカウントで設定されているメールアドレスです。別のメールアドレスを入力してください。';
const TOO_MANY_MAILS = 'メールの送信回数が上限に達しました。しばらく時間をおいてから再度お試しください。';
const TOO_MANY_IDS = 'ユーザIDの確認回数が上限に達しました。しばらく時間をおいてから再度お試しください。';

/**
 * Neither the console's Eメール変更 nor the first-login 「メールアドレスの更新」 tells whether an
 * address is registered: the attempt is counted first, and a taken address gets the same answer as a
 * free one (no mail reaches it; its link would answer 409). A chosen user ID still says
 * 「使用されています」, but its lookups are limited per member and per client IP.
 */
describe('registered addresses and user IDs cannot be enumerated', () => {
  let t: MailedTestIdp;
  beforeAll(async () => {
    t = await startMailedTestIdp();
    await t.addMember({ userId: 'holder001', email: 'held@example.jp' }, { onboarded: true, factor: 'email' });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await t.idp.sql.run('delete from rate_limit');
  });

  /** What a page says, without what differs per request or per member (tokens, the typed address, the user ID). */
  const comparable = (page: Page, address: string, userId: string) => ({
    status: page.status,
    errors: pageErrors(page.html),
    html: withoutRequestDetails(page.html).replaceAll(address, 'ADDRESS').replaceAll(userId, 'USER'),
  });

  async function consoleOf(userId: string) {
    await t.addMember({ userId, email: `${userId}@example.jp` }, { password: 'Enum-pass-1', onboarded: true });
    const browser = new BrowserClient();
    expect(isPortal((await loginThroughPortal(t.url, browser, userId, 'Enum-pass-1')).after.url)).toBe(true);
    return { browser, form: await browser.go(`${t.url}/account/email`) };
  }

  it('the console answers a taken and a free address alike, 20 times, and limits before looking', async () => {
    const taker = await consoleOf('enumtake1');
    const freer = await consoleOf('enumfree1');
    t.smtp.clear();
    const answers: { taken: ReturnType<typeof comparable>; free: ReturnType<typeof comparable> }[] = [];
    for (let i = 0; i < 20; i++) {
      const taken = await taker.browser.submit(taker.form, '/account/email', { email: 'held@example.jp' });
      const freeAddress = `free${i}@example.jp`;
      const free = await freer.browser.submit(freer.form, '/account/email', { email: freeAddress });
      answers.push({ taken: comparable(taken, 'held@example.jp', 'enumtake1'), free: comparable(free, freeAddress, 'enumfree1') });
    }
    for (const { taken, free } of answers) expect(taken).toEqual(free);
    expect(answers.slice(0, 5).every((a) => a.taken.status === 200 && a.taken.html.includes('確認メールを送信しました'))).toBe(true);
    // Over the limit, a taken address is refused like any other: nothing was looked up.
    expect(answers.slice(5).map((a) => [a.taken.status, a.taken.errors])).toEqual(Array(15).fill([429, [TOO_MANY_MAILS]]));
    expect(answers.flatMap((a) => a.taken.errors)).not.toContain(TAKEN);
    // The free address got its link; the holder of the taken one got nothing.
    await t.smtp.waitFor((m) => m.to.includes('free0@example.jp'));
    await new Promise((r) => setTimeout(r, 300));
    expect(t.smtp.messages.filter((m) => m.to.includes('held@example.jp'))).toHaveLength(0);
    // The form shows the requested address as pending in both cases.
    const again = comparable(await taker.browser.go(`${t.url}/account/email`), 'held@example.jp', 'enumtake1');
    expect(again).toEqual(comparable(await freer.browser.go(`${t.url}/account/email`), 'free4@example.jp', 'enumfree1'));
  });

  it('a link for an address taken in between answers 409 with the reason', async () => {
    const { browser, form } = await consoleOf('enumrace1');
    t.smtp.clear();
    await browser.submit(form, '/account/email', { email: 'race-later@example.jp' });
    const mail = await t.smtp.waitFor((m) => m.to.includes('race-later@example.jp'));
    await t.addMember({ userId: 'raceholdr', email: 'race-later@example.jp' }, { onboarded: true, factor: 'email' });
    const confirm = await browser.go(mail.links.find((l) => l.includes('/verify-email/'))!);
    const answer = await browser.submit(confirm, '/verify-email/', {});
    expect(answer.status).toBe(409);
    expect(answer.html).toContain('他のアカウントで設定されているメールアドレスです。元の画面で別のメールアドレスを入力してください。');
    expect((await t.idp.sql.one<{ email: string }>('select email from member where user_id = $1', ['enumrace1']))!.email).toBe('enumrace1@example.jp');
  });

  async function emailStepOf(userId: string, number: string) {
    await t.addMember({ userId, symbol: '91', number, birthdate: '1970-01-02', email: `${userId}@example.jp` });
    const { browser, page } = await passwordAtPortal(t.url, userId, `91${number}19700102`);
    const terms = await browser.submit(page, '/step/birthdate', { birthdate: '19700102' });
    const email = await browser.submit(terms, '/step/terms', { decision: 'agree' });
    expect(email.html).toContain('メールアドレスの更新');
    return { browser, email };
  }

  it('the first-login 「メールアドレスの更新」 answers a taken and a free address alike, 20 times', async () => {
    const taker = await emailStepOf('steptake1', '7000001');
    const freer = await emailStepOf('stepfree1', '7000002');
    t.smtp.clear();
    for (let i = 0; i < 20; i++) {
      const freeAddress = `stepfree${i}@example.jp`;
      const taken = await taker.browser.submit(taker.email, '/step/email', { email: 'held@example.jp' });
      const free = await freer.browser.submit(freer.email, '/step/email', { email: freeAddress });
      expect(comparable(taken, 'held@example.jp', 'steptake1')).toEqual(comparable(free, freeAddress, 'stepfree1'));
      expect(taken.status).toBe(i < 5 ? 200 : 429);
      expect(pageErrors(taken.html)).toEqual(i < 5 ? [] : [TOO_MANY_MAILS]);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(t.smtp.messages.filter((m) => m.to.includes('held@example.jp'))).toHaveLength(0);
  });

  it("limits the console's user-ID lookups per member: after 20, a clear 429 on the same page", async () => {
    const { browser } = await consoleOf('idlook001');
    const profile = await browser.go(`${t.url}/account`);
    for (let i = 0; i < 20; i++) {
      const answer = await browser.submit(profile, '/account', { locale: 'ja', user_id: 'holder001', method: 'totp' });
      expect([answer.status, pageErrors(answer.html)]).toEqual([400, ['このユーザIDは既に使用されています。別のユーザIDを入力してください。']]);
    }
    const limited = await browser.submit(profile, '/account', { locale: 'ja', user_id: 'holder001', method: 'totp' });
    expect([limited.status, pageErrors(limited.html)]).toEqual([429, [TOO_MANY_IDS]]);
    expect(limited.html).toContain('プロフィール');
    const free = await browser.submit(profile, '/account', { locale: 'ja', user_id: 'free.id.001', method: 'totp' });
    expect([free.status, pageErrors(free.html)]).toEqual([429, [TOO_MANY_IDS]]);
  });

  itInSociety('limits the first-login user-ID lookups per member and per client IP', async () => {
    const memberId = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['steptake1']))!.id;
    const host = await testHost(t.idp, memberId, '/interaction/x/step/user_id_and_method');
    host.ip = '192.0.2.10';
    for (let i = 0; i < 20; i++) {
      const answer = await userIdAndMethodStep.submit(host, { user_id: 'holder001', method: 'totp' });
      expect(answer).toMatchObject({ kind: 'show', view: { status: 400 } });
    }
    const limited = await userIdAndMethodStep.submit(host, { user_id: 'holder001', method: 'totp' });
    expect(limited).toMatchObject({ kind: 'show', view: { status: 429, vars: { errors: [TOO_MANY_IDS] } } });

    // Another member behind an address that already looked up 200 IDs this hour.
    for (let i = 0; i < 200; i++) await hitRateLimit(t.idp.sql, 'user-id-lookup-ip:192.0.2.20', 200, 3600);
    const otherId = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['stepfree1']))!.id;
    const other = await testHost(t.idp, otherId, '/interaction/y/step/user_id_and_method');
    other.ip = '192.0.2.20';
    expect(await userIdAndMethodStep.submit(other, { user_id: 'holder001', method: 'totp' })).toMatchObject({
      kind: 'show',
      view: { status: 429, vars: { errors: [TOO_MANY_IDS] } },
    });
  });
});
