import type { Context } from 'koa';
import type { Config } from '../config/index.js';
import type { Sql } from '../db/sql.js';
import type { Orm } from '../db/orm.js';
import type { Member } from '../db/entities/index.js';
import type { PasswordHasher } from '../members/password.js';
import type { Locale } from '../i18n/index.js';

export const STEP_ORDER = ['birthdate', 'terms', 'email', 'user_id_and_method', 'password'] as const;
export type StepName = (typeof STEP_ORDER)[number];

/** Sends one templated mail; false when it could not be delivered after retries. */
export interface MailSender {
  send(message: { to: string; template: string; locale: Locale; vars: Record<string, unknown> }): Promise<{ ok: boolean }>;
}

export interface StepDeps {
  config: Config;
  sql: Sql;
  orm: Orm;
  hasher: PasswordHasher;
  mail: MailSender;
}

/** Where a step runs: inside a login (an interaction) or, later, from the account console. */
export interface StepRun {
  ctx: Context;
  deps: StepDeps;
  member: Member;
  /** The URL this step's form posts to and its page lives at. */
  actionUrl: string;
  /** Hidden fields every form of the step must carry. */
}

/** What a submission led to: the step is done, a page was rendered (an error), or the login ends. */
export type StepOutcome = { kind: 'done' } | { kind: 'rendered' } | { kind: 'locked' } | { kind: 'declined' };

export interface Step {
  name: StepName;
  show(run: StepRun): Promise<void>;
  submit(run: StepRun, body: Record<string, unknown>): Promise<StepOutcome>;
}
