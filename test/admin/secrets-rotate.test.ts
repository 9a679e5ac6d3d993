import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { addMember } from '../../src/admin/member-add.js';
import { resetMemberMfa } from '../../src/admin/member-reset-mfa.js';
import { ExitCode, UsageError } from '../../src/admin/result.js';
import { parseSecretsRotateArgs, rotateSecrets } from '../../src/admin/secrets-rotate.js';
import { inTransaction } from '../../src/db/unit-of-work.js';
import { DEFAULT_SOCIETY, withSociety } from '../../src/db/society.js';
import { openTotpSecret, sealTotpSecret } from '../../src/factors/totp/secret.js';
import { issueRecoveryCodes } from '../../src/members/recovery-codes.js';
import { loadOrCreateSigningKeys } from '../../src/oidc/keys.js';
import { secretsKeyId, type SecretsKeys } from '../../src/secrets.js';
import type { AdminDeps } from '../../src/admin/deps.js';
import { openAdminTestDatabase, type AdminTestDatabase } from './admin-database.js';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
/** A key that was lost: no configuration below lists it. */
const Z = Buffer.alloc(32, 0xee);
const keys = (current: Buffer, ...previous: Buffer[]): SecretsKeys => ({ secretsKey: current, previousSecretsKeys: previous });

/** A device secret as sealed before key ids ("v1.<iv>.<tag>.<ciphertext>"), the rows a database already holds. */
function sealedBeforeKeyIds(key: Buffer, memberId: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`totp:${memberId}`));
  const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

describe('secrets rotate', () => {
  let db: AdminTestDatabase;
  /** The CLI's deps after the operator set SECRETS_KEY=B and SECRETS_KEY_PREVIOUS=A. */
  let rotated: AdminDeps;
  const ids: Record<string, string> = {};
  const appSecret = (n: number) => `JBSWY3DPEHPK3PX${'ABCDEFGH'[n]}`;

  async function device(userId: string, label: string, sealed: (memberId: string) => string, id = randomUUID()): Promise<void> {
    await db.deps.sql.run(`insert into credential (id, member_id, kind, label, secret, last_time_step) values ($1, $2, 'totp', $3, $4, 12345)`, [
      id,
      ids[userId],
      label,
      sealed(ids[userId]!),
    ]);
  }
  const storedSecrets = () =>
    db.deps.sql.rows<{ userId: string; memberId: string; label: string; secret: string; lastTimeStep: string }>(
      `select m.user_id as "userId", m.id as "memberId", c.label, c.secret, c.last_time_step as "lastTimeStep" from credential c join member m on m.id = c.member_id where c.kind = 'totp' order by m.user_id, c.label`,
    );
  const rotationEvents = () =>
    db.deps.sql.rows<{ member_id: string | null; detail: { via: string; secrets: string; resealed: number; keyId: string } }>(
      `select member_id, detail from member_event where type = 'admin.secrets_rotated' order by id`,
    );

  beforeAll(async () => {
    db = await openAdminTestDatabase();
    rotated = { sql: db.deps.sql, config: { ...db.deps.config, secretsKey: B, previousSecretsKeys: [A] } };
    for (const userId of ['rot00001', 'rot00002', 'rot00003', 'rot00004']) {
      await addMember(db.deps, { userId, symbol: '12', number: `40000${userId.slice(-1)}`, birthdate: '1980-12-01', name: '鍵 太郎' });
      ids[userId] = (await db.deps.sql.one<{ id: string }>('select id from member where user_id = $1', [userId]))!.id;
    }
    // Four devices sealed under A (one in the format from before key ids), one under the lost key Z.
    await device('rot00001', '会社用', (m) => sealTotpSecret(keys(A), m, appSecret(0)));
    await device('rot00001', '個人用', (m) => sealTotpSecret(keys(A), m, appSecret(1)));
    await device('rot00002', 'iPhone', (m) => sealedBeforeKeyIds(A, m, appSecret(2)));
    await device('rot00003', 'Android', (m) => sealTotpSecret(keys(A), m, appSecret(3)));
    // First in id order, so that every batch of two has a device to encrypt again (and an event).
    await device('rot00004', '古い端末', (m) => sealTotpSecret(keys(Z), m, appSecret(4)), '00000000-0000-4000-8000-000000000001');
    await loadOrCreateSigningKeys(db.deps.sql, keys(A));
    // Recovery codes under A, and a set from before key ids were kept.
    await withSociety(DEFAULT_SOCIETY, () => inTransaction(db.orm, (work) => issueRecoveryCodes(work, keys(A), ids.rot00001!, '127.0.0.1')));
    await withSociety(DEFAULT_SOCIETY, () => inTransaction(db.orm, (work) => issueRecoveryCodes(work, keys(A), ids.rot00002!, '127.0.0.1')));
    await db.deps.sql.run('update recovery_code set key_id = null where member_id = $1', [ids.rot00002]);
  });
  afterAll(async () => {
    await db.close();
  });

  it('encrypts every readable secret again under SECRETS_KEY, a batch per transaction with its audit event, and names what it cannot read', async () => {
    const before = await storedSecrets();
    const result = await rotateSecrets(rotated, { batchSize: 2 });

    expect(result.data!.totp).toMatchObject({ resealed: 4, current: 0 });
    expect(result.data!.signingKeys).toMatchObject({ resealed: 2, current: 0, unreadable: [] });
    const idOf = (k: Buffer) => secretsKeyId(k);
    expect(result.output.slice(0, 3)).toEqual([
      `SECRETS_KEY: key id ${idOf(B)}; SECRETS_KEY_PREVIOUS: key id ${idOf(A)}`,
      'authenticator-app secrets: 4 encrypted again under SECRETS_KEY, 0 already under it',
      'signing keys in the database: 2 encrypted again under SECRETS_KEY, 0 already under it',
    ]);
    // The device under the lost key stays as it was, and the operator is told whose it is and what to do.
    expect(result.exitCode).toBe(ExitCode.refused);
    expect(result.errors).toEqual([
      '1 stored secret cannot be decrypted with SECRETS_KEY or SECRETS_KEY_PREVIOUS and stay as they are:',
      `  rot00004 "古い端末" (key id ${idOf(Z)})`,
      'add the key they were sealed with to SECRETS_KEY_PREVIOUS and run this again; if that key is lost, those members cannot use that authenticator app: reset them with `member reset-mfa USER_ID` (初期化対応)',
    ]);

    const after = await storedSecrets();
    for (const row of after.filter((r) => r.userId !== 'rot00004')) {
      expect(row.secret.startsWith(`v2.${idOf(B)}.`)).toBe(true);
      // Only SECRETS_KEY is needed now; the device's last accepted step is untouched.
      expect(openTotpSecret(keys(B), row.memberId, row.secret)).toMatch(/^JBSWY3DPEHPK3PX[A-H]$/);
      expect(row.lastTimeStep).toBe('12345');
    }
    expect(after.find((r) => r.userId === 'rot00004')!.secret).toBe(before.find((r) => r.userId === 'rot00004')!.secret);
    await expect(loadOrCreateSigningKeys(db.deps.sql, keys(B))).resolves.toMatchObject({ keys: [expect.anything(), expect.anything()] });

    // Five devices needed work, two per batch: three transactions, each recording what it changed.
    const events = await rotationEvents();
    expect(events.every((e) => e.member_id === null && e.detail.via === 'cli' && e.detail.keyId === idOf(B))).toBe(true);
    const totpEvents = events.filter((e) => e.detail.secrets === 'totp');
    expect(totpEvents).toHaveLength(3);
    expect(totpEvents.reduce((n, e) => n + e.detail.resealed, 0)).toBe(4);
    expect(events.filter((e) => e.detail.secrets === 'signing_keys').map((e) => e.detail.resealed)).toEqual([2]);
  });

  it('is safe to run again, and says what still needs the previous key: recovery codes, which are hashes', async () => {
    await resetMemberMfa(db.deps, { userId: 'rot00004' });
    const eventsBefore = (await rotationEvents()).length;
    const again = await rotateSecrets(rotated, { batchSize: 2 });
    expect(again.exitCode).toBe(ExitCode.ok);
    expect(again.errors).toEqual([]);
    expect(again.output.slice(1)).toEqual([
      'authenticator-app secrets: 0 encrypted again under SECRETS_KEY, 4 already under it',
      'signing keys in the database: 0 encrypted again under SECRETS_KEY, 2 already under it',
      `recovery codes: 10 unused codes of 1 member were made with an earlier key (key id ${secretsKeyId(A)}): a code is kept only as a hash, which cannot be made again under a new key, so those codes work only while their key is in SECRETS_KEY_PREVIOUS (a member replaces them with 再発行 under ログイン方法)`,
      'recovery codes: 10 unused codes of 1 member were issued before key ids were kept: they work only with the SECRETS_KEY of their day; if that key has been replaced, keep it in SECRETS_KEY_PREVIOUS for them',
      'every stored secret is under SECRETS_KEY; removing SECRETS_KEY_PREVIOUS ends only the recovery codes above',
    ]);
    expect(await rotationEvents()).toHaveLength(eventsBefore);

    // Once both members have issued new codes (under B), nothing needs A any more.
    for (const id of [ids.rot00001!, ids.rot00002!])
      await withSociety(DEFAULT_SOCIETY, () => inTransaction(db.orm, (work) => issueRecoveryCodes(work, keys(B, A), id, '127.0.0.1')));
    const done = await rotateSecrets(rotated, { batchSize: 500 });
    expect(done.output.at(-1)).toBe(
      'every stored secret is under SECRETS_KEY: SECRETS_KEY_PREVIOUS can be removed 30 minutes after every instance runs with this SECRETS_KEY (logins and codes begun before then may use the old key)',
    );
  });

  it('takes a batch size from 1 to 10000', () => {
    expect(parseSecretsRotateArgs([])).toEqual({ batchSize: 500 });
    expect(parseSecretsRotateArgs(['--batch-size', '50'])).toEqual({ batchSize: 50 });
    for (const bad of ['0', '10001', 'x', '1.5']) expect(() => parseSecretsRotateArgs(['--batch-size', bad])).toThrow(UsageError);
    expect(() => parseSecretsRotateArgs(['now'])).toThrow(UsageError);
  });
});
