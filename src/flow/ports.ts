import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Credential, CredentialKind } from '../db/entities/index.js';
import type { Locale } from '../i18n/index.js';
import type { PasswordHasher, PasswordHolder } from '../members/password.js';
import type { LockoutState } from '../members/lockout.js';
import type { LockoutTables } from '../members/lockout-store.js';
import type { SecondFactorKind } from '../members/credentials.js';
import type { LoginStore } from './login.js';

/**
 * What the login flow, the owed steps and the factors are given instead of the database (as Ory
 * Kratos hands each strategy a `dependencies` interface): a few narrow ports, implemented over
 * PostgreSQL in src/members (`flowDeps` in src/members/ports.ts). A factor or step reads through
 * the stores, changes a member through `changes` (named changes that own their transaction, audit
 * event and mail: src/members/changes/) and checks a proof through `host.attempt`, whose check gets
 * the same stores scoped to the transaction holding the member's row lock (`AttemptPorts`).
 */
export interface FlowDeps {
  /** The society's policy and the server's keys, read once at start. */
  config: Config;
  hasher: PasswordHasher;
  mail: MailSender;
  log: Logger;
  clock: Clock;
  credentials: CredentialStore;
  codes: CodeStore;
  recoveryCodes: RecoveryCodeStore;
  passkeyChallenges: PasskeyChallenges;
  rateLimits: RateLimits;
  audit: AuditLog;
  members: MemberDirectory;
  changes: MemberChanges;
  /** What the login reads and writes of the member (members/login-store.ts). */
  logins: LoginStore;
  lockout: LockoutPort;
}

/** Sends one templated mail; false when it could not be delivered after retries. */
export interface MailSender {
  send(message: { to: string; template: string; locale: Locale; vars: Record<string, unknown> }): Promise<{ ok: boolean }>;
}

export interface Clock {
  now(): Date;
}

/**
 * Fixed-window counters in PostgreSQL, shared by every process, one pool statement each (the
 * login's per-IP limit is on its hot path).
 */
export interface RateLimits {
  /** Counts one hit; whether it is within `limit` for the window, and the seconds left in it. */
  hit(bucket: string, limit: number, windowSeconds: number): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
  /** Whether the bucket is still under `limit`, without counting this request. */
  under(bucket: string, limit: number): Promise<boolean>;
  /** Starts a new window with this hit as its first (a cooldown that begins now). */
  restart(bucket: string, windowSeconds: number): Promise<void>;
}

/** The audit trail (`member events`). Never put passwords, codes or secrets in `detail`. */
export interface AuditLog {
  record(memberId: string, type: string, detail?: Record<string, unknown>, ip?: string): Promise<void>;
}

/** A member as the password login finds them by user ID: one indexed statement on the pool (the login's hot path). */
export interface PasswordLoginRow {
  id: string;
  authEpoch: number;
  lock: LockoutState;
  holder: PasswordHolder;
}

/** The member's credentials, read (members/credentials.ts writes them, through `changes`). */
export interface CredentialStore {
  /** The member's credentials of a kind, oldest first. */
  list(memberId: string, kind: CredentialKind): Promise<Credential[]>;
  /** The member's devices of a kind with their sealed secret (a TOTP login's device choice; one pool statement). */
  withSecrets(memberId: string, kind: CredentialKind): Promise<{ id: string; label: string; secret: string | null }[]>;
  /** The member's current password as the hasher checks it (their own hash, or the initial one). */
  passwordHolder(memberId: string): Promise<(PasswordHolder & { userId: string }) | undefined>;
  /** The member a user ID names, with their password and lockout state (the password login). */
  passwordLogin(userId: string): Promise<PasswordLoginRow | undefined>;
  /** The passkey stored under a WebAuthn credential ID, and whose it is. */
  findPasskey(webauthnId: string): Promise<{ id: string; memberId: string } | undefined>;
}

/** Mailed one-time codes (`one_time_code`), read. */
export interface CodeStore {
  /** Whether the member has a code of `purpose` that can still be entered. */
  hasLive(memberId: string, purpose: string, maxAttempts: number): Promise<boolean>;
}

export interface RecoveryCodeStore {
  left(memberId: string): Promise<{ left: number; issued: boolean }>;
}

/** WebAuthn challenges are spent once: the first answer that carries one may go on. */
export interface PasskeyChallenges {
  spend(challenge: string): Promise<boolean>;
}

/** What a step asks about members other than through the member it runs for. */
export interface MemberDirectory {
  /** Whether a user ID is someone's (members/taken.ts, the one rule). */
  userIdTaken(userId: string): Promise<boolean>;
  /** The address the member asked to confirm and has not confirmed yet, while its link works. */
  pendingVerification(memberId: string): Promise<{ email: string } | undefined>;
}

/** The member a change's mail goes to, as the page loaded them. */
export interface ChangedMember {
  id: string;
  email?: string | null;
  emailVerified: boolean;
  displayName: string;
  locale: string;
}

/**
 * The named changes factors and steps make (src/members/changes/): each owns its transaction, its
 * audit event and its mail, and answers what happened.
 */
export interface MemberChanges {
  /**
   * An authenticator app, its first accepted time step and its event, then the notice to the member's
   * confirmed address; 'label_taken' when the member has a device of that name.
   */
  addTotpDevice(change: {
    member: ChangedMember;
    label: string;
    sealedSecret: string;
    timeStep: number;
    trustAcr: string | null;
    flow: string;
    ip: string;
  }): Promise<{ added: true; credentialId: string } | { added: false; reason: 'label_taken' }>;
  /** A passkey and its event, then the notice; 'label_taken', or 'duplicate' when that authenticator credential is stored already. */
  addPasskey(change: {
    member: ChangedMember;
    label: string;
    passkey: {
      webauthnId: string;
      publicKey: string;
      signCount: number;
      transports: string[];
      backedUp: boolean;
      deviceType: string;
      aaguid: string;
    };
    trustAcr: string | null;
    flow: string;
    ip: string;
  }): Promise<{ added: true; credentialId: string } | { added: false; reason: 'label_taken' | 'duplicate' }>;
  /** The member's own password (checked against the policy already) in place of the initial one, with its event. */
  setOwnPassword(change: { memberId: string; password: string; via: string; ip: string }): Promise<void>;
  /** 利用規約への同意. */
  acceptTerms(change: { memberId: string; version: string; ip: string }): Promise<void>;
  /** The confirmed address on file is kept: the 'email' step is done. */
  keepConfirmedAddress(change: { memberId: string }): Promise<void>;
  /** ユーザIDの設定・認証方法の選択; 'taken' when another member took the user ID first. */
  chooseUserIdAndMethod(change: { memberId: string; userId: string; method: SecondFactorKind; ip: string }): Promise<'chosen' | 'taken'>;
  /**
   * A new mailed code in place of any live one (one at a time), then the mail with it; false when
   * the mail could not be delivered.
   */
  mailEmailCode(change: { member: ChangedMember; purpose: string; code: string; codeHash: string; seconds: number; locale: Locale }): Promise<boolean>;
  /**
   * A verification link for `email`, mailed unless another member holds the address (then only
   * recorded, the same answer); false only when the mail could not be delivered.
   */
  mailVerificationLink(change: { member: ChangedMember; email: string; sentEvent: string; locale: Locale; unionName: string; ip: string }): Promise<boolean>;
}

/** How a typed mailed code compares with the member's codes. */
export type MailedCodeCheck = 'accepted' | 'wrong' | 'used_up' | 'expired' | 'used';

/** A passkey locked for its check: what the ceremony needs, and its name for the audit trail. */
export interface LockedPasskey {
  id: string;
  label: string;
  webauthnId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  backedUp: boolean | null;
  deviceType: string | null;
}

/**
 * The ports a check inside `host.attempt` gets: the same stores, on the transaction that holds the
 * member's row lock (src/members/lockout-store.ts withMemberAttempt). Everything a check reads or
 * writes goes through these, so it lands with the failure count, or not at all.
 */
export interface AttemptPorts {
  audit: AuditLog;
  credentials: {
    /** One of the member's TOTP devices: its sealed secret, last accepted time step and name. */
    totpDevice(memberId: string, deviceId: string): Promise<{ secret: string | null; lastTimeStep: number | null; label: string } | undefined>;
    /**
     * Records a TOTP device's accepted time step, its last use and `login.totp_ok` in one statement,
     * unless a code of that step or a later one was accepted meanwhile (then false).
     */
    acceptTotpTimeStep(deviceId: string, timeStep: number, event: { detail: Record<string, unknown>; ip?: string }): Promise<boolean>;
    /** A passkey, locked until the check ends. */
    lockPasskey(credentialId: string): Promise<LockedPasskey | undefined>;
    /** A locked passkey was used: its new sign counter, backup state and last use. */
    passkeyUsed(credentialId: string, use: { signCount: number; backedUp: boolean }): Promise<void>;
  };
  codes: {
    /**
     * Checks a typed code against the member's live code of `purpose`, locked: accepted once; each
     * wrong try counted on the code, which stops working after `maxAttempts`; a recently spent one
     * is told as 'used'.
     */
    check(memberId: string, purpose: string, rule: { matches(codeHash: string): boolean; maxAttempts: number }): Promise<MailedCodeCheck>;
  };
  recoveryCodes: {
    /** Spends one of the member's recovery codes; the id of the code used, or undefined. */
    use(memberId: string, typed: string): Promise<string | undefined>;
  };
  /** The changes a proof makes when it is right, inside the same transaction. */
  changes: {
    /** 生年月日: the step done and the failure count reset, with its event. */
    confirmBirthdate(memberId: string, ip: string): Promise<void>;
    /** The email method's credential, the first time a mailed code proves it, with its event. */
    addEmailMethod(memberId: string, flow: string, ip: string): Promise<void>;
  };
}

/** Lockout state kept for user IDs that do not exist, and the tables `host.attempt` counts failures in. */
export interface LockoutPort {
  /** The counters of an unknown user ID (keyed by an HMAC of it), as they are now. */
  unknownIdState(subject: string): Promise<LockoutState>;
  /** Opaque: only src/flow/attempt.ts hands it on (to withMemberAttempt and registerUnknownIdFailure). */
  tables: LockoutTables<AttemptPorts>;
}
