import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestIdp, loginThroughPortal, isPortal, BrowserClient, type TestIdp } from '../support/idp.js';
import { createTestDatabase } from '../support/database.js';
import { secretsKeyId } from '../../src/secrets.js';
import { inTransaction } from '../../src/db/unit-of-work.js';
import { issueRecoveryCodes, useRecoveryCode } from '../../src/members/recovery-codes.js';
import { rotateSecrets } from '../../src/admin/secrets-rotate.js';
import { ExitCode } from '../../src/admin/result.js';

/**
 * An operator changes SECRETS_KEY: the old key goes to SECRETS_KEY_PREVIOUS, the provider restarts,
 * and members set up under the old key go on logging in with their authenticator app.
 */
describe('a change of SECRETS_KEY, across restarts of the provider on one database', () => {
  const keyA = Buffer.alloc(32, 0x0a).toString('base64');
  const keyB = Buffer.alloc(32, 0x0b).toString('base64');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let running: TestIdp | undefined;
  let recoveryCodes: string[];
  const memberId = async (userId: string) => (await running!.idp.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;

  /** Stops the running provider and starts one with these keys on the same database. */
  async function restartWith(env: Record<string, string>): Promise<TestIdp> {
    await running?.close();
    running = await startTestIdp({ databaseUrl: db.url, env });
    return running;
  }
  const logsIn = async (t: TestIdp, userId: string, password: string) => isPortal((await loginThroughPortal(t.url, new BrowserClient(), userId, password)).after.url);

  beforeAll(async () => {
    db = await createTestDatabase();
    const underA = await restartWith({ SECRETS_KEY: keyA });
    await underA.addMember({ userId: 'rotate0001' }, { password: 'Rotate-pass-1', onboarded: true, totpDevices: ['iPhone'] });
    const id = await memberId('rotate0001');
    recoveryCodes = await inTransaction(underA.idp.orm, (work) => issueRecoveryCodes(work, underA.config, id, '127.0.0.1'));
  });
  afterAll(async () => {
    await running?.close();
    await db.drop();
  });

  it('seals new secrets with the key id of SECRETS_KEY', async () => {
    const row = await running!.idp.sql.one<{ secret: string }>(`select c.secret from credential c join member m on m.id = c.member_id where m.user_id = 'rotate0001' and c.kind = 'totp'`);
    expect(row!.secret.startsWith(`v2.${secretsKeyId(Buffer.from(keyA, 'base64'))}.`)).toBe(true);
    const codes = await running!.idp.sql.rows<{ key_id: string }>(`select distinct key_id from recovery_code`);
    expect(codes).toEqual([{ key_id: secretsKeyId(Buffer.from(keyA, 'base64')) }]);
  });

  it('logs a member set up under key A in after a restart with SECRETS_KEY=B and SECRETS_KEY_PREVIOUS=A', async () => {
    const t = await restartWith({ SECRETS_KEY: keyB, SECRETS_KEY_PREVIOUS: keyA });
    expect(await logsIn(t, 'rotate0001', 'Rotate-pass-1')).toBe(true);
    // Recovery codes are hashes that cannot be made again under B: they keep working while A is listed.
    expect(await useRecoveryCode(t.idp.sql, t.config, await memberId('rotate0001'), recoveryCodes[0]!)).toBe(true);
    expect(await useRecoveryCode(t.idp.sql, { secretsKey: t.config.secretsKey, previousSecretsKeys: [] }, await memberId('rotate0001'), recoveryCodes[1]!)).toBe(false);
  });

  it('after `secrets rotate`, logs the member in with SECRETS_KEY=B alone (signing keys included)', async () => {
    const rotation = await rotateSecrets({ sql: running!.idp.sql, config: running!.config }, { batchSize: 100 });
    expect(rotation.exitCode).toBe(ExitCode.ok);
    expect(rotation.data!.totp).toEqual({ resealed: 1, current: 0, unreadable: [] });
    expect(rotation.data!.signingKeys).toEqual({ resealed: 2, current: 0, unreadable: [] });
    const t = await restartWith({ SECRETS_KEY: keyB });
    expect(await logsIn(t, 'rotate0001', 'Rotate-pass-1')).toBe(true);
  });
});
