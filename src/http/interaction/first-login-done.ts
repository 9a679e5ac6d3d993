import type { Context } from 'koa';
import { render } from '../render.js';
import type { Interaction } from './request.js';
import type { LoginState } from './state.js';

/** Steps asked at the first login only: passing one (also in a resumed first login) marks this login as the first. */
const FIRST_LOGIN_ONLY = new Set(['birthdate', 'user_id_and_method']);

export function withFirstLogin(state: LoginState, step: string): LoginState {
  return FIRST_LOGIN_ONLY.has(step) ? { ...state, firstLogin: true } : state;
}

/** 「初回ログインが完了しました」 (login manual ⑧), before the member goes on to the portal. */
export function showFirstLoginDone(ctx: Context, interaction: Interaction): void {
  render(ctx, 'first-login-done', { continueUrl: `/interaction/${interaction.uid}/continue?done=1` });
}
