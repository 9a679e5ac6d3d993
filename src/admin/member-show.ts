import { toDate } from '../db/sql.js';
import { isLocked } from '../members/lockout.js';
import { parseCommandArgs } from './args.js';
import type { AdminDeps } from './deps.js';
import { memberNotFound } from './find-member.js';
import { formatFields, formatTimestamp } from './format.js';
import { formatEvent, latestMemberEvents, type MemberEvent } from './member-events.js';
import { ExitCode, failed, succeeded, type CommandResult } from './result.js';
import { normalizeUserId } from '../members/user-id.js';

export interface MemberShowArgs {
  userId: string;
}

/** What an administrator sees of a member. The birth date is left out: with 記号 and 番号 it is the initial password. */
export interface MemberDetails {
  id: string;
  userId: string;
  displayName: string;
  insuranceSymbol: string;
  insuranceNumber: string;
  email: string | null;
  emailVerified: boolean;
  locale: string;
  createdAt: Date;
  lastLoginAt: Date | null;
  hasOwnPassword: boolean;
  passwordCreatedAt: Date | null;
  temporaryId: boolean;
  pendingSteps: string[];
  termsVersion: string | null;
  termsAcceptedAt: Date | null;
  chosenFactor: string | null;
  failedLogins: number;
  lockCount: number;
  lockedUntil: Date | null;
  lockedPermanently: boolean;
  /** Second-factor credentials (passkeys, TOTP devices, the email method), oldest first. */
  factors: FactorLine[];
  events: MemberEvent[];
}

export interface FactorLine {
  kind: string;
  label: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const FACTOR_NAMES: Record<string, string> = { passkey: 'passkey (生体認証)', totp: 'TOTP app (OTPアプリ)', email: 'email code (OTPメール)' };

function formatFactor(f: FactorLine): string {
  const name = f.label ? `${FACTOR_NAMES[f.kind] ?? f.kind} "${f.label}"` : (FACTOR_NAMES[f.kind] ?? f.kind);
  return `  ${name}  created ${formatTimestamp(f.createdAt)}, last used ${formatTimestamp(f.lastUsedAt, 'never')}`;
}

export const SHOWN_EVENTS = 10;

export const memberShowUsage = ['usage: member show USER_ID', `  The member's record, login state and last ${SHOWN_EVENTS} events.`];

export function parseMemberShowArgs(argv: string[]): MemberShowArgs {
  const { positionals } = parseCommandArgs(argv, {}, { names: ['USER_ID'] });
  return { userId: positionals[0]! };
}

function lockState(m: MemberDetails, now: Date): string {
  const counts = `${m.failedLogins} failed login${m.failedLogins === 1 ? '' : 's'} since the last lock, locked ${m.lockCount} time${m.lockCount === 1 ? '' : 's'}`;
  if (m.lockedPermanently) return `LOCKED PERMANENTLY until an administrator unlocks (${counts})`;
  if (isLocked(m, now)) return `LOCKED until ${formatTimestamp(m.lockedUntil)} (${counts})`;
  return `not locked (${counts})`;
}

export function formatMemberDetails(m: MemberDetails, now = new Date()): string[] {
  return [
    ...formatFields([
      ['user ID', `${m.userId}${m.temporaryId ? '  (temporary ID issued by the union)' : ''}`],
      ['name (ユーザー名)', m.displayName],
      ['symbol (記号)', m.insuranceSymbol],
      ['number (番号)', m.insuranceNumber],
      ['email', m.email ? `${m.email}  (${m.emailVerified ? 'verified' : 'not verified'})` : '-'],
      ['locale', m.locale],
      ['created', formatTimestamp(m.createdAt)],
      ['last login', formatTimestamp(m.lastLoginAt, 'never')],
      ['password', m.hasOwnPassword ? `set by the member ${formatTimestamp(m.passwordCreatedAt)}` : 'initial (記号+番号+生年月日)'],
      ['pending steps', m.pendingSteps.length > 0 ? m.pendingSteps.join(', ') : 'none'],
      ['terms version', m.termsVersion ? `${m.termsVersion} (accepted ${formatTimestamp(m.termsAcceptedAt)})` : 'none accepted'],
      ['second factor', m.chosenFactor ?? 'not chosen'],
      ['lock', lockState(m, now)],
    ]),
    '',
    m.factors.length > 0 ? `second factors (${m.factors.length}):` : 'second factors: none set up (the next login sets the chosen one up)',
    ...m.factors.map(formatFactor),
    '',
    m.events.length > 0 ? `last ${m.events.length} event${m.events.length === 1 ? '' : 's'}, newest first:` : 'no events',
    ...m.events.map((e) => `  ${formatEvent(e)}`),
  ];
}

/** `member show`: everything an administrator needs to answer 「ログインできない」. */
export async function showMember(deps: AdminDeps, args: MemberShowArgs): Promise<CommandResult<MemberDetails>> {
  const userId = normalizeUserId(args.userId);
  const row =
    userId.length > 0 && userId.length <= 64
      ? await deps.sql.one<Omit<MemberDetails, 'events' | 'factors'>>(
          `select m.id, user_id as "userId", display_name as "displayName", insurance_symbol as "insuranceSymbol", insurance_number as "insuranceNumber",
       email, email_verified as "emailVerified", locale, m.created_at as "createdAt", last_login_at as "lastLoginAt",
       c.id is not null as "hasOwnPassword", c.created_at as "passwordCreatedAt", temporary_id as "temporaryId",
       pending_steps as "pendingSteps", terms_version as "termsVersion", terms_accepted_at as "termsAcceptedAt", chosen_factor as "chosenFactor",
       failed_logins as "failedLogins", lock_count as "lockCount", locked_until as "lockedUntil", locked_permanently as "lockedPermanently"
     from member m left join credential c on c.member_id = m.id and c.kind = 'password' where user_id = $1`,
          [userId],
        )
      : undefined;
  if (!row) return failed(ExitCode.refused, memberNotFound(args.userId));
  const factors = await deps.sql.rows<FactorLine>(
    `select kind, label, created_at as "createdAt", last_used_at as "lastUsedAt" from credential
     where member_id = $1 and kind <> 'password' order by created_at, id`,
    [row.id],
  );
  const member: MemberDetails = {
    ...row,
    factors: factors.map((f) => ({ ...f, createdAt: toDate(f.createdAt)!, lastUsedAt: toDate(f.lastUsedAt) })),
    createdAt: toDate(row.createdAt)!,
    lastLoginAt: toDate(row.lastLoginAt),
    passwordCreatedAt: toDate(row.passwordCreatedAt),
    termsAcceptedAt: toDate(row.termsAcceptedAt),
    lockedUntil: toDate(row.lockedUntil),
    events: await latestMemberEvents(deps.sql, row.id, SHOWN_EVENTS),
  };
  return succeeded(formatMemberDetails(member), member);
}
