import { totpSecretContext } from '../factors/totp/secret.js';
import { countTotpDevicesSealedWith } from '../members/credentials.js';
import { resealStoredSigningKeys as resealSigningKeysChange, resealTotpBatch } from '../members/changes/secrets.js';
import { recoveryCodesUnderOtherKeys, type RecoveryCodesUnderOtherKeys } from '../members/recovery-codes.js';
import { currentSealPrefix, resealSecret, sealedKeyId, secretsKeyId, SecretUnreadableError } from '../secrets.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { ExitCode, UsageError, type CommandResult } from './result.js';

export interface SecretsRotateArgs {
  batchSize: number;
}

export const DEFAULT_ROTATE_BATCH = 500;
const MAX_ROTATE_BATCH = 10_000;
/** Unreadable devices listed by name; beyond this, a count. */
const LISTED = 50;

export const secretsRotateUsage = [
  'usage: secrets rotate [--batch-size N]',
  '  After SECRETS_KEY is changed (the old key moved to SECRETS_KEY_PREVIOUS and every instance restarted):',
  '  encrypts every secret stored in the database again under SECRETS_KEY (authenticator-app secrets,',
  `  development signing keys), N per transaction (default ${DEFAULT_ROTATE_BATCH}), and says whether SECRETS_KEY_PREVIOUS`,
  '  is still needed. Safe to run again; it changes only what is not yet under SECRETS_KEY.',
];

export function parseSecretsRotateArgs(argv: string[]): SecretsRotateArgs {
  const { values } = parseCommandArgs(argv, { 'batch-size': { type: 'string' } }, { names: [] });
  const given = values['batch-size'];
  if (given === undefined) return { batchSize: DEFAULT_ROTATE_BATCH };
  if (typeof given !== 'string' || !/^\d+$/.test(given) || Number(given) < 1 || Number(given) > MAX_ROTATE_BATCH) {
    throw new UsageError(`--batch-size must be a whole number from 1 to ${MAX_ROTATE_BATCH}`);
  }
  return { batchSize: Number(given) };
}

/** A stored secret none of the configured keys opens: its key is lost (or was never given to this process). */
export interface UnreadableSecret {
  what: string;
  keyId?: string;
}

export interface SecretsRotateReport {
  keyId: string;
  totp: { resealed: number; current: number; unreadable: UnreadableSecret[] };
  signingKeys: { resealed: number; current: number; unreadable: UnreadableSecret[] };
  recoveryCodes: RecoveryCodesUnderOtherKeys;
}

type Counts = { resealed: number; current: number; unreadable: UnreadableSecret[] };

/** Authenticator-app devices, `batchSize` per transaction, each batch with its audit event. */
async function resealTotpDevices(deps: AdminDeps, keyId: string, batchSize: number): Promise<Counts> {
  const { config } = deps;
  const prefix = currentSealPrefix(config);
  const counts: Counts = { resealed: 0, current: await countTotpDevicesSealedWith(deps.sql, prefix), unreadable: [] };
  let afterId = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await resealTotpBatch(deps, {
      prefix,
      afterId,
      batchSize,
      keyId,
      via: 'cli',
      reseal: (device) => resealSecret(config, device.secret, totpSecretContext(device.memberId)),
      unreadable: (err) => err instanceof SecretUnreadableError,
    });
    counts.resealed += batch.resealed;
    counts.unreadable.push(...batch.unreadable.map((device) => ({ what: `${device.userId} "${device.label}"`, keyId: sealedKeyId(device.secret) })));
    const lastId = batch.devices.at(-1)?.id;
    if (batch.devices.length < batchSize || !lastId) return counts;
    afterId = lastId;
  }
}

async function resealStoredSigningKeys(deps: AdminDeps, keyId: string): Promise<Counts> {
  const result = await resealSigningKeysChange(deps, { secrets: deps.config, keyId, via: 'cli' });
  return { ...result, unreadable: result.unreadable.map((u) => ({ what: `signing key ${u.kid}`, keyId: u.keyId })) };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const describeKey = (u: UnreadableSecret) => (u.keyId ? `key id ${u.keyId}` : 'sealed before key ids');

function report(r: SecretsRotateReport, previousKeyIds: string[], waitMinutes: number): { output: string[]; errors: string[] } {
  const output = [
    `SECRETS_KEY: key id ${r.keyId}; SECRETS_KEY_PREVIOUS: ${previousKeyIds.length > 0 ? previousKeyIds.map((id) => `key id ${id}`).join(', ') : 'none'}`,
    `authenticator-app secrets: ${r.totp.resealed} encrypted again under SECRETS_KEY, ${r.totp.current} already under it`,
    `signing keys in the database: ${r.signingKeys.resealed} encrypted again under SECRETS_KEY, ${r.signingKeys.current} already under it`,
  ];
  const { earlier, unknown } = r.recoveryCodes;
  if (earlier.codes > 0) {
    output.push(
      `recovery codes: ${plural(earlier.codes, 'unused code')} of ${plural(earlier.members, 'member')} were made with an earlier key (${earlier.keyIds.map((id) => `key id ${id}`).join(', ')}): ` +
        'a code is kept only as a hash, which cannot be made again under a new key, so those codes work only while their key is in SECRETS_KEY_PREVIOUS ' +
        '(a member replaces them with 再発行 under ログイン方法)',
    );
  }
  if (unknown.codes > 0) {
    output.push(
      `recovery codes: ${plural(unknown.codes, 'unused code')} of ${plural(unknown.members, 'member')} were issued before key ids were kept: ` +
        'they work only with the SECRETS_KEY of their day; if that key has been replaced, keep it in SECRETS_KEY_PREVIOUS for them',
    );
  }
  const unreadable = [...r.totp.unreadable, ...r.signingKeys.unreadable];
  const errors: string[] = [];
  if (unreadable.length > 0) {
    errors.push(`${plural(unreadable.length, 'stored secret')} cannot be decrypted with SECRETS_KEY or SECRETS_KEY_PREVIOUS and stay as they are:`);
    errors.push(...unreadable.slice(0, LISTED).map((u) => `  ${u.what} (${describeKey(u)})`));
    if (unreadable.length > LISTED) errors.push(`  … and ${unreadable.length - LISTED} more`);
    errors.push(
      'add the key they were sealed with to SECRETS_KEY_PREVIOUS and run this again; if that key is lost, those members ' +
        'cannot use that authenticator app: reset them with `member reset-mfa USER_ID` (初期化対応)',
    );
  } else if (earlier.codes > 0 || unknown.codes > 0) {
    output.push('every stored secret is under SECRETS_KEY; removing SECRETS_KEY_PREVIOUS ends only the recovery codes above');
  } else {
    output.push(
      `every stored secret is under SECRETS_KEY: SECRETS_KEY_PREVIOUS can be removed ${waitMinutes} minutes after every instance runs with this SECRETS_KEY (logins and codes begun before then may use the old key)`,
    );
  }
  return { output, errors };
}

/**
 * `secrets rotate`: every secret stored in the database under SECRETS_KEY, read with SECRETS_KEY or
 * SECRETS_KEY_PREVIOUS. Secrets that live only minutes (logins and console changes in progress,
 * mailed codes) are not stored for good; they are read with the previous key until they expire.
 */
export async function rotateSecrets(deps: AdminDeps, args: SecretsRotateArgs): Promise<CommandResult<SecretsRotateReport>> {
  const { config } = deps;
  const keyId = secretsKeyId(config.secretsKey);
  const result: SecretsRotateReport = {
    keyId,
    totp: await resealTotpDevices(deps, keyId, args.batchSize),
    signingKeys: await resealStoredSigningKeys(deps, keyId),
    recoveryCodes: await recoveryCodesUnderOtherKeys(deps.sql, keyId),
  };
  const waitMinutes = Math.ceil(Math.max(config.union.ttl.interactionSeconds, config.union.emailOtp.codeSeconds) / 60);
  const { output, errors } = report(result, config.previousSecretsKeys.map(secretsKeyId), waitMinutes);
  return { exitCode: errors.length > 0 ? ExitCode.refused : ExitCode.ok, output, errors, data: result };
}
