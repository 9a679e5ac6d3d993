import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { asDatabaseOwner } from '../support/database.js';
import { startTestIdp, testRelyingParty, isPortal, BrowserClient, completeTotp, type TestIdp } from '../support/idp.js';

/** A change of several writes (the member, its owed steps, the audit event) lands whole or not at all. */
describe('one unit of work', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function atTermsStep(userId: string) {
    await t.addMember({ userId, email: `${userId}@example.jp` }, { password: 'Unit-of-work-1', onboarded: true });
    await t.idp.sql.run(`update member set terms_version = 'an-older-version' where user_id = $1`, [userId]);
    const browser = new BrowserClient();
    const rp = await testRelyingParty(t.url);
    const loginPage = await browser.go((await rp.authorizationRequest()).url, { stopAt: isPortal });
    const code = await browser.submit(loginPage, '/login', { user_id: userId, password: 'Unit-of-work-1' }, { stopAt: isPortal });
    // The second factor comes first: nothing beyond the password is shown before it.
    const terms = await completeTotp(browser, code, userId);
    expect(terms.html).toContain('同意する');
    return { browser, terms };
  }

  const memberRow = (userId: string) =>
    t.idp.sql.one<{ terms_version: string; pending_steps: string[]; events: string }>(
      `select terms_version, pending_steps, (select count(*) from member_event e where e.member_id = m.id and e.type = 'terms.accepted') as events
     from member m where user_id = $1`,
      [userId],
    );

  it('leaves nothing changed when the audit event after the member update fails', async () => {
    const { browser, terms } = await atTermsStep('uow00001');
    // Injected failure: the event insert, the last write of accepting the terms, is refused by PostgreSQL.
    // As the owner: the application's role may not add a trigger.
    const asOwner = (text: string) => asDatabaseOwner(t.databaseUrl, (owner) => owner.query(text));
    await asOwner(`create or replace function kosmo_test_refuse_event() returns trigger language plpgsql as $$
      begin if new.type = 'terms.accepted' then raise exception 'injected failure'; end if; return new; end $$`);
    await asOwner(`create trigger kosmo_test_refuse_event before insert on member_event for each row execute function kosmo_test_refuse_event()`);
    try {
      const failed = await browser.submit(terms, '/step/terms', { decision: 'agree' }, { stopAt: isPortal });
      expect(failed.status).toBe(500);
      expect(await memberRow('uow00001')).toEqual({ terms_version: 'an-older-version', pending_steps: [], events: '0' });
    } finally {
      await asOwner('drop trigger kosmo_test_refuse_event on member_event');
    }
    // Without the failure the same change lands whole: the new version and its event together.
    const again = await browser.go(terms.url, { stopAt: isPortal });
    await browser.submit(again, '/step/terms', { decision: 'agree' }, { stopAt: isPortal });
    expect(await memberRow('uow00001')).toEqual({ terms_version: t.config.terms.version, pending_steps: [], events: '1' });
  });
});
