import { writeFileSync } from 'node:fs';
/** What the bench process and its two server children agree on. */
export const BENCH_CLIENT = {
  id: 'bench-portal',
  secret: 'bench-portal-secret-0123456789abcdef',
  redirect: 'http://127.0.0.1:3999/callback',
  scope: 'openid offline_access profile email',
};

export const BENCH_PASSWORD = 'Bench-pass-2026!';

export const benchUserId = (i: number) => `bench${String(i).padStart(6, '0')}`;

/** Members who log in with a TOTP app (a device set up through the factor): `btotp000001` … */
export const benchTotpUserId = (i: number) => `btotp${String(i).padStart(6, '0')}`;

/** Members whose chosen second factor is the code mailed to them: `bmail000001` …, at `bmail000001@bench.example.jp`. */
export const benchEmailUserId = (i: number) => `bmail${String(i).padStart(6, '0')}`;
export const benchEmailAddress = (i: number) => `${benchEmailUserId(i)}@bench.example.jp`;

/** Where the kosmo-idp child leaves the TOTP members' secrets for the load generator (in BENCH_DIR). */
export const TOTP_SECRETS_FILE = 'totp-secrets.json';

/** What kosmo-idp asks of its database: SQL statements, and milliseconds its pooled connections are checked out (summed over connections). */
export interface DatabaseUse {
  statements: number;
  connectionMs: number;
}

/** Messages a child sends over its IPC channel. */
export type ChildMessage =
  | { type: 'ready'; url: string; readyMs?: number }
  | ({ type: 'database' } & DatabaseUse)
  | { type: 'memory'; usage: NodeJS.MemoryUsage; spaces: Record<string, number> }
  | { type: 'passwordHashSet'; credentials: number; error?: string };

/** Resets this process's kernel peak RSS (VmHWM) to its current size: the peak then counts from serving. */
export function resetPeakMemory(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not allowed: the peak then includes the setup, which only overstates it.
  }
}
