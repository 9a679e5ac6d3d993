import type { Interaction } from './context.js';
import type { FlowScratch } from '../../flow/host.js';

/** What the login knows after the password, kept on the interaction (in PostgreSQL) until it finishes. */
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

export function loginState(interaction: Interaction): LoginState | undefined {
  const kosmo = (interaction.result as { kosmo?: LoginState } | undefined)?.kosmo;
  return kosmo && typeof kosmo.memberId === 'string' ? kosmo : undefined;
}

export async function saveLoginState(interaction: Interaction, state: LoginState | undefined): Promise<void> {
  interaction.result = state ? { kosmo: state } : undefined;
  await interaction.persist();
}

/**
 * Hands the login's outcome to the provider on the interaction this request already loaded (what
 * `provider.interactionResult` does without merging, minus reading the interaction again) and
 * answers where the browser resumes: the provider's /auth/:uid.
 */
export async function resultForProvider(interaction: Interaction, result: NonNullable<Interaction['result']>): Promise<string> {
  interaction.result = result;
  await interaction.persist();
  return interaction.returnTo;
}

/** The login's scratch storage, persisted with the interaction. */
export function loginScratch(interaction: Interaction, state: LoginState): FlowScratch {
  return {
    get: <T>(key: string) => state.scratch?.[key] as T | undefined,
    async set(key, value) {
      state.scratch = { ...state.scratch, [key]: value };
      if (value === undefined) delete state.scratch[key];
      await saveLoginState(interaction, state);
    },
  };
}
