/** What the bench process and its two server children agree on. */
export const BENCH_CLIENT = {
  id: 'bench-portal',
  secret: 'bench-portal-secret-0123456789abcdef',
  redirect: 'http://127.0.0.1:3999/callback',
  scope: 'openid offline_access profile email',
};

export const BENCH_PASSWORD = 'Bench-pass-2026!';

export const benchUserId = (i: number) => `bench${String(i).padStart(6, '0')}`;

/** Messages a child sends over its IPC channel. */
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'sqlCount'; count: number }
  | { type: 'memory'; usage: NodeJS.MemoryUsage; spaces: Record<string, number> };
