import type { Member } from '../db/entities/index.js';
import type { Locale } from '../i18n/index.js';
import type { ProofAttempt } from './attempt.js';
import type { FlowDeps } from './ports.js';

/** A page to show: a template under views/ and its variables. The HTTP layer renders it. */
export interface View {
  view: string;
  vars: Record<string, unknown>;
  status?: number;
}

/**
 * Scratch storage that lives as long as the flow (a login keeps it on its interaction, in
 * PostgreSQL, so it survives a reload and another instance). Values are JSON; seal secrets first.
 */
export interface FlowScratch {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): Promise<void>;
}

/**
 * Where a step or a factor runs: inside a login, the account console or recovery. It knows no HTTP;
 * whoever hosts it builds one of these and renders the View it returns.
 */
export interface Host {
  /** Which flow hosts it, for the audit trail. */
  flow: 'login' | 'console' | 'recovery';
  member: Member;
  locale: Locale;
  t(key: string, vars?: Record<string, string | number>): string;
  ip: string;
  /** Where this page's form posts; a GET of it shows the page again. */
  actionUrl: string;
  /**
   * The browser session the flow runs in, where `actionUrl` does not already name one (the console's
   * URLs are the same for every member): what a factor binds its challenges to.
   */
  sessionId?: string;
  unionName: string;
  /** The page's query string (`?change=1` …), single values only. */
  query: Record<string, string>;
  scratch: FlowScratch;
  /**
   * The acr of the signed-in session this runs in (the console); undefined inside a login. A device
   * set up here is worth no more than this at login (factors/acr.ts trustOfNewDevice).
   */
  sessionAcr?: string;
  /**
   * Runs a proof under the member's row lock and counts it when it fails (flow/attempt.ts): a
   * factor or step says whether its proof failed, the flow records the failure and decides "locked".
   */
  attempt: ProofAttempt;
  /** The narrow ports it reads and changes members through (flow/ports.ts), never the database. */
  deps: FlowDeps;
}

export type { FlowDeps, MailSender } from './ports.js';
