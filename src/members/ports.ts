import type { EntityManager } from '@mikro-orm/core';
import type { Config } from '../config/index.js';
import { hitRateLimit, restartRateLimit, underRateLimit } from '../db/rate-limit.js';
import type { Sql } from '../db/sql.js';
import type { AttemptPorts, FlowDeps } from '../flow/ports.js';
import {
  acceptTotpTimeStep,
  addEmailMethod,
  credentialsWithSecrets,
  findPasskeyByWebauthnId,
  listCredentials,
  lockPasskey,
  totpDeviceOf,
  touchCredential,
} from './credentials.js';
import type { Credential } from '../db/entities/index.js';
import { pendingVerification } from './email-verification.js';
import { recordMemberEvent } from './events.js';
import { lockoutTables, unknownIdLockout } from './lockout-store.js';
import { loginStore } from './login-store.js';
import { confirmBirthdate } from './onboarding.js';
import { checkLiveCode, hasLiveCode } from './one-time-codes.js';
import { loadPasswordHolder, memberForPasswordLogin } from './password-holders.js';
import { recoveryCodesLeft, useRecoveryCode } from './recovery-codes.js';
import { isUserIdTaken } from './taken.js';
import type { AppDeps } from './changes/deps.js';
import { addPasskey, addTotpDevice } from './changes/devices.js';
import { mailVerificationLink } from './changes/email.js';
import { mailEmailCode } from './changes/email-code.js';
import { acceptTerms, chooseUserIdAndMethod, keepConfirmedAddress } from './changes/onboarding.js';
import { setOwnPassword } from './changes/password.js';

/**
 * The flow's ports (src/flow/ports.ts) over PostgreSQL: the reads are the statements the pages ran
 * before (pool statements on the hot paths: the password lookup, the TOTP devices, the rate-limit
 * counters), the changes are the named changes of src/members/changes/.
 */

const built = new WeakMap<AppDeps, FlowDeps>();

/** The ports of an application, built once per `deps` (every request's Host is handed the same). */
export function flowDeps(deps: AppDeps): FlowDeps {
  let ports = built.get(deps);
  if (!ports) {
    ports = buildFlowDeps(deps);
    built.set(deps, ports);
  }
  return ports;
}

function buildFlowDeps(deps: AppDeps): FlowDeps {
  const { config, orm, sql } = deps;
  return {
    config,
    hasher: deps.hasher,
    mail: deps.mail,
    log: deps.log,
    clock: { now: () => new Date() },
    credentials: {
      list: (memberId, kind) => listCredentials(orm.em.fork(), memberId, kind),
      withSecrets: (memberId, kind) => credentialsWithSecrets(sql, memberId, kind),
      passwordHolder: (memberId) => loadPasswordHolder(sql, memberId),
      passwordLogin: (userId) => memberForPasswordLogin(sql, userId),
      findPasskey: (webauthnId) => findPasskeyByWebauthnId(orm.em.fork(), webauthnId),
    },
    codes: { hasLive: (memberId, purpose, maxAttempts) => hasLiveCode(sql, memberId, purpose, maxAttempts) },
    recoveryCodes: { left: (memberId) => recoveryCodesLeft(sql, memberId) },
    // A challenge is a one-per-window counter in PostgreSQL that outlives it (factors/passkey/challenge.ts).
    passkeyChallenges: { spend: async (challenge) => (await hitRateLimit(sql, `webauthn-challenge:${challenge}`, 1, 900)).allowed },
    rateLimits: {
      hit: (bucket, limit, windowSeconds) => hitRateLimit(sql, bucket, limit, windowSeconds),
      under: (bucket, limit) => underRateLimit(sql, bucket, limit),
      restart: (bucket, windowSeconds) => restartRateLimit(sql, bucket, windowSeconds),
    },
    audit: { record: (memberId, type, detail, ip) => recordMemberEvent(sql, memberId, type, detail, ip) },
    members: {
      userIdTaken: (userId) => isUserIdTaken(sql, userId),
      pendingVerification: (memberId) => pendingVerification(sql, memberId),
    },
    changes: {
      addTotpDevice: (change) => addTotpDevice(deps, change),
      addPasskey: (change) => addPasskey(deps, change),
      setOwnPassword: (change) => setOwnPassword(deps, change),
      acceptTerms: (change) => acceptTerms(deps, change),
      keepConfirmedAddress: (change) => keepConfirmedAddress(deps, change),
      chooseUserIdAndMethod: (change) => chooseUserIdAndMethod(deps, change),
      mailEmailCode: (change) => mailEmailCode(deps, change),
      mailVerificationLink: (change) => mailVerificationLink(deps, change),
    },
    logins: loginStore(deps),
    lockout: {
      unknownIdState: (subject) => unknownIdLockout(sql, subject),
      tables: lockoutTables(sql, (tx, em) => attemptPorts(config, tx, em)),
    },
  };
}

/** The ports a check under the member's row lock gets: the same stores, on that transaction (`tx`, `em`). */
function attemptPorts(config: Config, tx: Sql, em: EntityManager): AttemptPorts {
  const lockedPasskeys = new Map<string, Credential>();
  return {
    audit: { record: (memberId, type, detail, ip) => recordMemberEvent(tx, memberId, type, detail, ip) },
    credentials: {
      totpDevice: (memberId, deviceId) => totpDeviceOf(tx, memberId, deviceId),
      acceptTotpTimeStep: (deviceId, timeStep, event) => acceptTotpTimeStep(tx, deviceId, timeStep, event),
      async lockPasskey(credentialId) {
        const credential = await lockPasskey(em, credentialId);
        if (!credential) return undefined;
        lockedPasskeys.set(credential.id, credential);
        return {
          id: credential.id,
          label: credential.label,
          webauthnId: credential.webauthnId!,
          publicKey: credential.publicKey!,
          signCount: Number(credential.signCount ?? 0),
          transports: credential.transports ?? [],
          backedUp: credential.backedUp ?? null,
          deviceType: credential.deviceType ?? null,
        };
      },
      async passkeyUsed(credentialId, use) {
        const credential = lockedPasskeys.get(credentialId);
        if (!credential) throw new Error('passkeyUsed: the passkey was not locked in this attempt');
        touchCredential(credential, { signCount: use.signCount, backedUp: use.backedUp });
        await em.flush();
      },
    },
    codes: { check: (memberId, purpose, rule) => checkLiveCode(tx, memberId, purpose, rule) },
    recoveryCodes: { use: (memberId, typed) => useRecoveryCode(tx, config, memberId, typed) },
    changes: {
      confirmBirthdate: (memberId, ip) => confirmBirthdate({ em, sql: tx }, memberId, ip),
      addEmailMethod: (memberId, flow, ip) => addEmailMethod({ em, sql: tx }, memberId, flow, ip),
    },
  };
}
