import { hmac } from '../../crypto.js';
import { acceptedKeys } from '../../secrets.js';
import type { Config } from '../../config/index.js';
import type { Credential } from '../../db/entities/index.js';
import type { PasskeyChallenges } from '../../flow/ports.js';
import type { PasskeyContext, StoredPasskey } from './ceremony.js';

const challengeKeyOf = (secretsKey: Buffer) => Buffer.from(hmac(secretsKey, 'webauthn-challenges'), 'base64url');

/** The challenge keys of a configuration, derived once (every login page offers a passkey). */
const challengeKeys = new WeakMap<Config, Buffer[]>();
function acceptedChallengeKeysOf(config: Config): Buffer[] {
  let keys = challengeKeys.get(config);
  if (!keys) {
    keys = acceptedKeys(config).map(challengeKeyOf);
    challengeKeys.set(config, keys);
  }
  return keys;
}

/**
 * The ceremony context of one flow: the configured relying party, and challenges bound to `flowId`.
 * A ceremony begun just before SECRETS_KEY changed finishes with the key now in SECRETS_KEY_PREVIOUS.
 */
export function passkeyContext(config: Config, flowId: string): PasskeyContext {
  const acceptedChallengeKeys = acceptedChallengeKeysOf(config);
  return { webauthn: config.webauthn, challengeKey: acceptedChallengeKeys[0]!, acceptedChallengeKeys, flowId };
}

/**
 * Spends a challenge: the first answer that carries it may go on, any other (the same request
 * twice at the same moment, a replay) is refused. A one-per-window counter in PostgreSQL, shared by
 * every process, that outlives the challenge (src/members/ports.ts).
 */
export function spendChallenge(challenges: PasskeyChallenges, challenge: string): Promise<boolean> {
  return challenges.spend(challenge);
}

export function storedPasskey(c: Pick<Credential, 'webauthnId' | 'publicKey' | 'signCount' | 'transports'>): StoredPasskey {
  return { webauthnId: c.webauthnId!, publicKey: c.publicKey!, signCount: Number(c.signCount ?? 0), transports: c.transports ?? [] };
}

/** RFC 8176: a synced passkey is a software key, a device-bound one a hardware key; both verified the user. */
export function passkeyAmr(c: { backedUp?: boolean | null; deviceType?: string | null }): string[] {
  return [c.backedUp || c.deviceType === 'multiDevice' ? 'swk' : 'hwk', 'user'];
}
