import type { SecretsKeys } from '../../secrets.js';
import { resealSigningKeys, rotateSigningKeys, type Rotation, type RotationPlan } from '../../oidc/keys.js';
import { lockTotpDevicesToReseal, replaceTotpSecret, type SealedTotpDevice } from '../credentials.js';
import { recordMemberEvent } from '../events.js';
import type { ChangeDeps } from './deps.js';

/**
 * `secrets rotate`: stored secrets sealed again under SECRETS_KEY, each batch one transaction with
 * its audit event (`admin.secrets_rotated`, no member).
 */
type AdminChangeDeps = Pick<ChangeDeps, 'sql'>;

/**
 * The next `batchSize` authenticator-app devices after `afterId` not yet under the key whose seals
 * begin with `prefix`, locked and sealed again by `reseal` (which throws for a secret no configured
 * key opens: `unreadable` answers whether an error is that). The devices seen, and those resealed.
 */
export async function resealTotpBatch(
  deps: AdminChangeDeps,
  batch: {
    prefix: string;
    afterId: string;
    batchSize: number;
    keyId: string;
    via: string;
    reseal(device: SealedTotpDevice): string;
    unreadable(err: unknown): boolean;
  },
): Promise<{ devices: SealedTotpDevice[]; resealed: number; unreadable: SealedTotpDevice[] }> {
  return deps.sql.transaction(async (tx) => {
    const devices = await lockTotpDevicesToReseal(tx, batch.prefix, batch.afterId, batch.batchSize);
    let resealed = 0;
    const unreadable: SealedTotpDevice[] = [];
    for (const device of devices) {
      let sealed: string;
      try {
        sealed = batch.reseal(device);
      } catch (err) {
        if (!batch.unreadable(err)) throw err;
        unreadable.push(device);
        continue;
      }
      await replaceTotpSecret(tx, device.id, sealed);
      resealed += 1;
    }
    if (resealed > 0) await recordMemberEvent(tx, null, 'admin.secrets_rotated', { via: batch.via, secrets: 'totp', resealed, keyId: batch.keyId });
    return { devices, resealed, unreadable };
  });
}

/** The signing keys kept in the database, sealed again under SECRETS_KEY, with the event when any was. */
export async function resealStoredSigningKeys(
  deps: AdminChangeDeps,
  change: { secrets: SecretsKeys; keyId: string; via: string },
): Promise<{ resealed: number; current: number; unreadable: { kid: string; keyId?: string }[] }> {
  return deps.sql.transaction(async (tx) => {
    const result = await resealSigningKeys(tx, change.secrets);
    if (result.resealed > 0)
      await recordMemberEvent(tx, null, 'admin.secrets_rotated', { via: change.via, secrets: 'signing_keys', resealed: result.resealed, keyId: change.keyId });
    return result;
  });
}

/** `keys rotate`: a new signing key per algorithm on its schedule (src/oidc/keys.ts), with its audit event. */
export async function rotateStoredSigningKeys(deps: AdminChangeDeps, change: { secrets: SecretsKeys; plan: RotationPlan; via: string }): Promise<Rotation> {
  return deps.sql.transaction(async (tx) => {
    const rotation = await rotateSigningKeys(tx, change.secrets, change.plan);
    await recordMemberEvent(tx, null, 'admin.signing_keys_rotated', {
      via: change.via,
      added: rotation.added.map((k) => k.kid),
      activatesAt: rotation.activatesAt.toISOString(),
      retiring: rotation.retiring.map((k) => k.kid),
    });
    return rotation;
  });
}
