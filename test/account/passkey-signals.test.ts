import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { decodeEntities } from '../support/browser-client.js';

/** The console tells the browser's passkey manager which passkeys still count and the current user ID. */
describe('passkey signals on the console pages', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('carry the relying party, the user handle, the accepted credential IDs and the current user ID', async () => {
    await t.addMember({ userId: 'signal001', name: '信号 花子' }, { password: 'Signal-pass-1', onboarded: true });
    const { id } = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', ['signal001']))!;
    await t.idp.sql.run(
      `insert into credential (id, member_id, kind, label, webauthn_id, public_key) values (gen_random_uuid(), $1, 'passkey', 'iPhone', 'cred-id-one', 'pk')`,
      [id],
    );
    const browser = new BrowserClient();
    await loginThroughPortal(t.url, browser, 'signal001', 'Signal-pass-1');
    for (const path of ['/account', '/account/login-methods']) {
      const page = await browser.go(`${t.url}${path}`);
      const tag = /<div hidden data-passkey-signals[^>]*>/.exec(page.html)![0];
      const attr = (name: string) => decodeEntities(new RegExp(`${name}="([^"]*)"`).exec(tag)![1]!);
      expect(attr('data-rp-id')).toBe(t.config.webauthn.rpId);
      expect(Buffer.from(attr('data-user-id'), 'base64url').toString('utf8')).toBe(id);
      expect(JSON.parse(attr('data-credential-ids'))).toEqual(['cred-id-one']);
      expect(attr('data-name')).toBe('signal001');
      expect(page.html).toContain('<script src="/static/passkey-signals.js" defer></script>');
    }
  });
});
