import type { Context } from 'koa';
import type { AppDeps } from '../../members/changes/deps.js';

export type RecoveryDeps = AppDeps;

/** The uniform answer of a recovery form, shown on the login screen or on its own page. */
export type RecoveryAnswer = { kind: 'password_reset_sent' } | { kind: 'user_id_sent'; email: string };

/**
 * Where a recovery page was opened: from a login screen (answer there, with the manual's notice)
 * or on its own (from a mail link that needs starting again).
 */
export interface RecoveryPlace {
  /** Shows the uniform answer on the login screen the member came from, or on its own page. */
  answer(ctx: Context, notice: string): void;
  /** The form's action and the 戻る link. */
  actionUrl: string;
  backUrl?: string;
}

/** A recovery form's request: where it was opened from. */
export interface RecoveryRequest {
  ctx: Context;
  deps: RecoveryDeps;
  place: RecoveryPlace;
}

/** The notice text of an answer, in the request's language. */
export function answerNotice(ctx: Context, answer: RecoveryAnswer): string {
  const t = ctx.state.t;
  return answer.kind === 'password_reset_sent' ? t('recovery.password_sent') : t('recovery.user_id_sent', { email: answer.email });
}
