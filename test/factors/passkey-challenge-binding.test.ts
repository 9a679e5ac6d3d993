import { describe, expect, beforeAll, afterAll } from '@jest/globals';
import { itInSociety } from '../support/society.js';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { startTestIdp, type TestIdp } from '../support/idp.js';
import { testHost } from '../support/factors.js';
import { SoftwarePasskey } from '../support/software-passkey.js';
import { passkeyFactor } from '../../src/factors/passkey/index.js';
import type { Host } from '../../src/flow/host.js';

/**
 * The console's passkey setup has one URL for every member: its registration challenge is bound to the
 * member and the browser session, so a registration made for member A's console verifies nowhere else.
 */
describe('a passkey registration challenge is bound to the member and the session', () => {
  let t: TestIdp;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    t = await startTestIdp();
    for (const userId of ['bindpk001', 'bindpk002']) {
      await t.addMember({ userId }, { onboarded: true, factor: 'passkey' });
      ids[userId] = (await t.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  async function consoleHost(userId: string, sessionId: string): Promise<Host> {
    const host = await testHost(t.idp, ids[userId]!, '/account/factors/passkey/setup');
    host.sessionId = sessionId;
    return host;
  }

  /** A's console offers a registration; the authenticator answers it. */
  async function registrationFor(host: Host) {
    const page = await passkeyFactor.startSetup(host);
    const options = JSON.parse(String(page.vars.optionsJson)) as PublicKeyCredentialCreationOptionsJSON;
    return { response: JSON.stringify(SoftwarePasskey.forIdp(t.idp).register(options)) };
  }

  const viewOf = (outcome: Awaited<ReturnType<typeof passkeyFactor.finishSetup>>) => (outcome.kind === 'show' ? outcome.view.view : outcome.kind);

  itInSociety('fails for member B', async () => {
    const answer = await registrationFor(await consoleHost('bindpk001', 'session-a'));
    expect(viewOf(await passkeyFactor.finishSetup(await consoleHost('bindpk002', 'session-b'), answer))).toBe('factor-passkey-retry');
  });

  itInSociety('fails in another session of member A', async () => {
    const answer = await registrationFor(await consoleHost('bindpk001', 'session-a'));
    expect(viewOf(await passkeyFactor.finishSetup(await consoleHost('bindpk001', 'session-a2'), answer))).toBe('factor-passkey-retry');
  });

  itInSociety('verifies for the member and session it was made for', async () => {
    const host = await consoleHost('bindpk001', 'session-a');
    expect(viewOf(await passkeyFactor.finishSetup(host, await registrationFor(host)))).toBe('factor-passkey-label');
  });
});
