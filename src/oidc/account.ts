import type { Account, FindAccount } from 'oidc-provider';
import type { Sql } from '../db/sql.js';
import { recall, remember } from './prefetch.js';

/** Claims per scope. `sub` is the member's stable id, never the user ID (which the member can change). */
export const CLAIMS_BY_SCOPE = {
  // With the subject, how and when the member logged in (acr level, RFC 8176 amr, auth_time): every ID token carries them.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'preferred_username', 'birthdate', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
};

export interface AccountRow {
  id: string;
  user_id: string;
  display_name: string;
  birthdate: string;
  email: string | null;
  email_verified: boolean;
  locale: string;
  updated_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function memberClaims(row: AccountRow): { sub: string } & Record<string, unknown> {
  return {
    sub: row.id,
    name: row.display_name,
    preferred_username: row.user_id,
    birthdate: row.birthdate,
    locale: row.locale,
    updated_at: Math.floor(new Date(row.updated_at).getTime() / 1000),
    email: row.email ?? undefined,
    email_verified: row.email ? row.email_verified : undefined,
  };
}

/** The member columns the claims need; the adapter reads them with a token (prefetch.ts). */
export const ACCOUNT_COLUMNS = `id, user_id, display_name, to_char(birthdate, 'YYYY-MM-DD') as birthdate, email, email_verified, locale, updated_at`;

export function rememberAccount(accountId: string, row: AccountRow | null): void {
  remember(`Account:${accountId}`, row);
}

/** Looked up on every token and userinfo request: one indexed statement (or none, if read with the token). */
export function findAccountFactory(sql: Sql): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    if (!UUID.test(sub)) return undefined;
    const known = recall<AccountRow>(`Account:${sub}`);
    const row = known !== undefined ? known : await sql.one<AccountRow>(`select ${ACCOUNT_COLUMNS} from member where id = $1`, [sub]);
    if (!row) return undefined;
    return { accountId: row.id, claims: async () => memberClaims(row) };
  };
}
