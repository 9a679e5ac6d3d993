import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startTestIdp, loginThroughPortal, BrowserClient, TEST_CLIENT, type TestIdp } from '../support/idp.js';
import { ownerUrlFor } from '../support/database.js';
import { startLogoutReceiver, verifiedLogoutToken, type LogoutReceiver } from '../support/backchannel-receiver.js';

/**
 * A logout token is not lost when the process that queued it dies before delivering it: the change
 * committed the token with itself, and another process delivers it once the dead one's lease ends.
 */
describe('back-channel logout across a killed process', () => {
  let t: TestIdp;
  let receiver: LogoutReceiver;
  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    t = await startTestIdp({
      idpOptions: { backchannelPolicy: { pollSeconds: 0.3, leaseSeconds: 3 } },
      configure: (config) => {
        const test = config.clients.find((c) => c.client_id === TEST_CLIENT.id)!;
        test.backchannel_logout_uri = receiver.url;
        test.backchannel_logout_session_required = true;
      },
    });
    await t.addMember({ userId: 'bclkill01' }, { password: 'Backchannel-1', onboarded: true });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('a process killed between the change and the delivery: another process delivers the token', async () => {
    const browser = new BrowserClient();
    const { rp, request, after } = await loginThroughPortal(t.url, browser, 'bclkill01', 'Backchannel-1');
    const claims = (await rp.exchange(after.url, request)).claims()!;
    // Only the child delivers at first: this process's delivery waits until the child is dead.
    await t.idp.backchannel.stop();
    receiver.answer('hold');

    const { NODE_OPTIONS: _jestOnly, ...env } = process.env;
    const child = spawn(path.resolve('node_modules/.bin/tsx'), ['test/support/backchannel-child.ts'], {
      env: {
        ...env,
        DATABASE_URL: t.databaseUrl,
        MIGRATION_DATABASE_URL: ownerUrlFor(t.databaseUrl),
        COOKIE_KEYS: 'test-cookie-key-0123456789abcdefghijklmnop',
        SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
        DATA_DIR: '.data/test',
        ISSUER_ROOT: t.url,
        RECEIVER_URL: receiver.url,
        USER_ID: 'bclkill01',
        CLIENT_ID: TEST_CLIENT.id,
        CLIENT_SECRET: TEST_CLIENT.secret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      // The child's delivery has the token on the wire: kill it before it hears back.
      await receiver.waitFor(1, 45_000);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}; child said: ${stdout} ${stderr}`);
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(stdout).toContain('committed');
    receiver.release(503);
    receiver.answer(200);
    const stranded = await t.idp.sql.one<{ attempts: number }>('select attempts from backchannel_logout');
    expect(stranded?.attempts).toBe(1);

    t.idp.backchannel.start();
    const [, delivered] = await receiver.waitFor(2, 15_000);
    const payload = await verifiedLogoutToken(delivered!.token, t.url, TEST_CLIENT.id);
    expect(payload).toMatchObject({ sub: claims.sub, sid: claims.sid });
    for (let i = 0; i < 50 && (await t.idp.sql.one('select 1 from backchannel_logout')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await t.idp.sql.one('select 1 from backchannel_logout')).toBeUndefined();
  }, 90_000);
});
