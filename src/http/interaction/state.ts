import type { Interaction } from './context.js';

/** What the login knows after the password, kept on the interaction (in PostgreSQL) until it finishes. */
export interface LoginState {
  memberId: string;
  remember: boolean;
  amr: string[];
}

export function loginState(interaction: Interaction): LoginState | undefined {
  const kosmo = (interaction.result as { kosmo?: LoginState } | undefined)?.kosmo;
  return kosmo && typeof kosmo.memberId === 'string' ? kosmo : undefined;
}

export async function saveLoginState(interaction: Interaction, state: LoginState | undefined): Promise<void> {
  interaction.result = state ? { kosmo: state } : undefined;
  await interaction.persist();
}
