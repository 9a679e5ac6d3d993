import type { Interaction } from './request.js';
import type { FlowScratch } from '../../flow/host.js';
import type { LoginState } from '../../flow/login.js';

/** What the login knows after the member is identified (src/flow/login.ts), kept on the interaction. */
export type { LoginState };

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
