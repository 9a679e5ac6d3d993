import type { Context } from 'koa';
import { render } from '../render.js';
import type { Interaction } from './context.js';
import { loginState, saveLoginState } from './state.js';

/** Steps asked at the first login only: passing one (also in a resumed first login) marks this login as the first. */
const FIRST_LOGIN_ONLY = new Set(['birthdate', 'user_id_and_method']);

export async function markFirstLogin(interaction: Interaction, step: string): Promise<void> {
  if (!FIRST_LOGIN_ONLY.has(step)) return;
  const state = loginState(interaction);
  if (state && !state.firstLogin) await saveLoginState(interaction, { ...state, firstLogin: true });
}

/** 「初回ログインが完了しました」 (login manual ⑧), before the member goes on to the portal. */
export function showFirstLoginDone(ctx: Context, interaction: Interaction): void {
  render(ctx, 'first-login-done', { continueUrl: `/interaction/${interaction.uid}/continue?done=1` });
}
