import type { Member } from '../db/entities/index.js';
import { isLocked } from '../members/lockout.js';
import { owedSteps, type StepName } from '../members/required-steps.js';
import type { SecondFactorKind } from '../members/credentials.js';
import { SECOND_FACTORS, SECOND_PROOFS, type SecondProofKind } from '../factors/index.js';
import { emailFactor } from '../factors/email/index.js';
import type { Factor, ProofFactor } from '../factors/types.js';
import { ACR_PASSWORD_ONLY, ACR_VALUES, acrFor, acrSatisfies, weakerAcr } from '../factors/acr.js';

/**
 * The login as one ordered list (node-oidc-provider composes an endpoint from one list; Keycloak
 * runs a flow of authenticators): identify (`identify` in flow/identify.ts: the password, or a
 * passkey alone) -> the second factor when the member has one set up -> owed steps -> the confirmed
 * address before a device setup -> the setup -> finish, with `amr` and `acr` from what was proved.
 * It knows no HTTP: whoever hosts it calls `identify`, keeps the `LoginState`, asks `nextPlace`,
 * shows the page it names and calls `finishLogin`.
 */

/** What the login knows after the member is identified, kept by its host (on the interaction, in PostgreSQL) until it finishes. */
export interface LoginState {
  memberId: string;
  remember: boolean;
  /** RFC 8176 values of every proof made in this login, in order. */
  amr: string[];
  /** The second factor proved (or set up) in this login, and the device that proved it. */
  secondFactor?: { kind: string; at: number; deviceId?: string; setUp?: boolean };
  /** The member proved the confirmed address with a mailed code in this login (before a device setup). */
  addressProved?: boolean;
  /** The steps the member owed when this login began (a step passed in it counts for the rest of it). */
  owedAtStart?: string[];
  /** Scratch storage of the steps and factors of this login (a setup in progress, a challenge). */
  scratch?: Record<string, unknown>;
  /** A first-login-only step was passed in this login: 「初回ログインが完了しました」 at the end. */
  firstLogin?: boolean;
  /** The member's auth_epoch when the password was checked; a reset since then ends this login. */
  authEpoch?: number;
}

/** What the login reads and writes of the member (src/members/login-store.ts), so the flow needs no database. */
export interface LoginStore {
  /** The member with the kinds of credential they hold: every page of a login reads both. */
  memberForLogin(memberId: string): Promise<{ member: Member; heldKinds: string[] } | undefined>;
  heldKinds(memberId: string): Promise<string[]>;
  /** The member as they are now (a failure in this request may just have locked them). */
  currentMember(memberId: string): Promise<Member | undefined>;
  /**
   * Forgets the member's failures and records the completed login, unless they are locked; with
   * what the device that proved the second factor is trusted for (null: what it is).
   */
  completeLogin(memberId: string, ip: string, deviceId?: string): Promise<{ cleared: boolean; trust: string | null }>;
}

/** One login in progress: the member who was identified, and what the login knows so far. No HTTP in it. */
export interface LoginRun {
  store: LoginStore;
  member: Member;
  state: LoginState;
  /** The `acr_values` whoever started the login asked for (a portal, or the console before a change). */
  requestedAcr: string[];
  termsVersion: string;
  /** The kinds of credential the member holds, once read. */
  heldKinds?: string[];
}

/** A page of the login, under the interaction's address. */
export type LoginPlace = 'factor' | 'factor/setup' | 'factor/address' | `step/${StepName}`;

/** `acr_values` as the authorization request carried it. */
export function requestedAcrOf(acrValues: unknown): string[] {
  return typeof acrValues === 'string' ? acrValues.split(' ').filter(Boolean) : [];
}

export type OpenedLogin =
  | { kind: 'run'; run: LoginRun }
  /** The password (or a factor) was reset after this login passed it: it must start again. */
  | { kind: 'credentials_changed'; member: Member }
  /** The member is locked: the login ends with the lock message. */
  | { kind: 'locked'; member: Member };

/**
 * The login of the member identified in `state`, read again as this request begins; undefined when
 * the member is gone. `member`: their row when it is unchanged since it was read in this request.
 */
export async function openLogin(
  store: LoginStore,
  state: LoginState,
  context: { termsVersion: string; requestedAcr: string[] },
  member?: Member,
): Promise<OpenedLogin | undefined> {
  if (member) return { kind: 'run', run: { store, member, state, ...context } };
  const found = await store.memberForLogin(state.memberId);
  if (!found) return undefined;
  if ((state.authEpoch ?? 0) !== found.member.authEpoch) return { kind: 'credentials_changed', member: found.member };
  if (isLocked({ ...found.member, lockedUntil: found.member.lockedUntil ?? null }, new Date())) return { kind: 'locked', member: found.member };
  // What the member owed when this login began: a step passed in it (メール認証) counts for the rest.
  if (!state.owedAtStart) state.owedAtStart = owedSteps(found.member, context.termsVersion);
  return { kind: 'run', run: { store, member: found.member, state, heldKinds: found.heldKinds, ...context } };
}

async function heldKinds(run: LoginRun): Promise<string[]> {
  run.heldKinds ??= await run.store.heldKinds(run.member.id);
  return run.heldKinds;
}

/**
 * The second factor this login asks for: the member's chosen method, unless whoever started the login
 * asked `acr_values` above it and the member holds a device that reaches it; then the strongest such device.
 */
export async function secondFactorOf(run: LoginRun): Promise<SecondFactorKind | undefined> {
  const chosen = run.member.chosenFactor ?? undefined;
  const requested = run.requestedAcr;
  if (requested.length === 0 || acrSatisfies(acrFor(chosen), requested)) return chosen;
  const held = await heldKinds(run);
  // Each factor declares its strength: the strongest one held that reaches what was asked.
  const stronger = Object.values(SECOND_FACTORS)
    .filter((factor) => held.includes(factor.kind) && acrSatisfies(factor.acr, requested))
    .sort((a, b) => ACR_VALUES.indexOf(b.acr) - ACR_VALUES.indexOf(a.acr))[0];
  return (stronger?.kind as SecondFactorKind | undefined) ?? chosen;
}

/** A stage answers where the member must go next, or undefined when it has nothing more to ask. */
type Stage = (run: LoginRun) => Promise<LoginPlace | undefined>;

/** The second factor, asked first when the member has one set up: nothing beyond the password is shown before it. */
const secondFactor: Stage = async (run) => {
  const kind = await secondFactorOf(run);
  if (!kind || !SECOND_FACTORS[kind] || run.state.secondFactor) return undefined;
  return (await heldKinds(run)).includes(kind) ? 'factor' : undefined;
};

/** Whatever the member still owes: first-login steps, re-consent to new terms (members/required-steps.ts). */
const requiredSteps: Stage = async ({ member, termsVersion }) => {
  const [next] = owedSteps(member, termsVersion);
  return next ? `step/${next}` : undefined;
};

/**
 * Before a device is set up outside the first login's own steps (after `member reset-mfa`, a first
 * login interrupted before the setup, a method chosen without a device), the member proves the
 * confirmed address with a mailed code: the password alone never enrols a device.
 */
const addressProof: Stage = async (run) => {
  const { member, state } = run;
  const kind = await secondFactorOf(run);
  if (!kind || kind === 'email' || !SECOND_FACTORS[kind] || state.secondFactor || state.addressProved) return undefined;
  if (!member.email || !member.emailVerified || (await heldKinds(run)).includes(kind)) return undefined;
  // The address was confirmed in this very login (the first login's メール認証 step).
  if (state.owedAtStart?.includes('email')) return undefined;
  return 'factor/address';
};

/** The chosen second factor, set up now when the member has no device of that kind yet. */
const secondFactorSetup: Stage = async (run) => {
  const kind = await secondFactorOf(run);
  if (!kind || !SECOND_FACTORS[kind] || run.state.secondFactor) return undefined;
  return (await heldKinds(run)).includes(kind) ? undefined : 'factor/setup';
};

/** The login, in order, after the member is identified: each stage in turn, then `finishLogin`. */
export const LOGIN_STAGES: readonly Stage[] = [secondFactor, requiredSteps, addressProof, secondFactorSetup];

/** Where the member must go next, or undefined when the login can finish. */
export async function nextPlace(run: LoginRun): Promise<LoginPlace | undefined> {
  for (const stage of LOGIN_STAGES) {
    const place = await stage(run);
    if (place) return place;
  }
  return undefined;
}

/** The factor a factor page of the login runs: the mailed code to the confirmed address, or the second factor. */
export async function factorAt(run: LoginRun, place: 'factor' | 'factor/setup' | 'factor/address'): Promise<Factor> {
  return place === 'factor/address' ? emailFactor : SECOND_FACTORS[(await secondFactorOf(run))!]!;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const withAmr = (state: LoginState, amr: string[]) => [...new Set([...state.amr, ...amr])];

/** The login after a mailed code proved the confirmed address (before a device setup). */
export function afterAddressProof(state: LoginState, amr: string[]): LoginState {
  return { ...state, amr: withAmr(state, amr), addressProved: true, scratch: undefined };
}

/** The login after its second factor was proved or set up (`kind`: the proof, a recovery code included). */
export function afterSecondFactor(state: LoginState, proof: { kind: ProofFactor['kind']; amr: string[]; deviceId?: string; setUp?: boolean }): LoginState {
  const secondFactor = { kind: proof.kind, at: nowSeconds(), deviceId: proof.deviceId, ...(proof.setUp === undefined ? {} : { setUp: proof.setUp }) };
  return { ...state, amr: withAmr(state, proof.amr), secondFactor, scratch: undefined };
}

/**
 * The login after an identifier (flow/identify.ts) proved who the member is: what it proved, and,
 * for one that stands as the second factor too (a user-verified passkey is already two factors,
 * NIST SP 800-63B-4 §2.2.1), that second factor.
 */
export function identifiedBy(
  identifier: { kind: 'password' | 'passkey'; standsAsSecondFactor: boolean },
  proof: { memberId: string; authEpoch: number; remember: boolean; amr: string[]; credentialId?: string },
): LoginState {
  return {
    memberId: proof.memberId,
    remember: proof.remember,
    amr: proof.amr,
    ...(identifier.standsAsSecondFactor ? { secondFactor: { kind: identifier.kind, at: nowSeconds(), deviceId: proof.credentialId } } : {}),
    authEpoch: proof.authEpoch,
  };
}

/** The login after the password identified the member. */
export function identifiedByPassword(proof: { memberId: string; authEpoch: number; remember: boolean }): LoginState {
  return identifiedBy({ kind: 'password', standsAsSecondFactor: false }, { ...proof, amr: ['pwd'] });
}

/**
 * 「初回ログインが完了しました」 ends a login that passed a first-login step, and one that resumed a
 * first login interrupted after its steps (the member has never completed a login).
 */
export function isFirstLogin({ state, member }: LoginRun): boolean {
  return Boolean(state.firstLogin) || (member.lastLoginAt == null && Boolean(state.secondFactor?.setUp));
}

export type FinishedLogin =
  | { kind: 'finished'; accountId: string; remember: boolean; amr: string[]; acr: string }
  /** Guesses racing with this login's proof locked the member meanwhile: it does not finish. */
  | { kind: 'locked' };

/**
 * What the provider gets: the member, `amr` and `acr` from what was actually proved. Only now are
 * the consecutive failures forgotten: a right password followed by wrong codes must not reset the
 * count the codes are adding to.
 */
export async function finishLogin({ store, state, member }: LoginRun, ip: string): Promise<FinishedLogin> {
  const amr = state.secondFactor ? [...new Set([...state.amr, 'mfa'])] : state.amr;
  const completed = await store.completeLogin(member.id, ip, state.secondFactor?.deviceId);
  if (!completed.cleared) return { kind: 'locked' };
  const proved = state.secondFactor ? SECOND_PROOFS[state.secondFactor.kind as SecondProofKind] : undefined;
  // A device added from a weaker session is worth no more than that session (factors/acr.ts).
  const acr = weakerAcr(proved?.acr ?? ACR_PASSWORD_ONLY, completed.trust);
  return { kind: 'finished', accountId: member.id, remember: state.remember, amr, acr };
}
