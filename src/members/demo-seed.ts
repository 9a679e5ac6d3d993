import type { Sql } from '../db/sql.js';
import { PASSWORD_CREDENTIAL_JOIN, PASSWORD_HOLDER_COLUMNS, type PasswordHasher, type PasswordHolder } from './password.js';
import { insertMembers, memberInputSchema } from './provision.js';
import { storeNewPassword } from './new-password.js';

/**
 * The demo accounts `npm start` prints, per society. Only seeded into a society with no members, in
 * development. The first of each is provisioned (initial password 記号+番号+生年月日, first login to
 * do); the second has finished it and logs in with the mailed code.
 */
export const DEMO_MEMBERS = [
  {
    userId: 'kosmo001',
    symbol: '12',
    number: '3456789',
    birthdate: '1980-12-01',
    name: '健保 太郎',
    email: 'taro@example.jp',
    initialPassword: '12345678919801201',
  },
  { userId: 'kosmo002', symbol: '12', number: '3456790', birthdate: '1985-04-15', name: '健保 花子', email: 'hanako@example.jp', password: 'Hanako-2026!' },
];

/** さくら健康保険組合's own: a member of its own, and its own kosmo002 (another person, another password). */
export const SAKURA_DEMO_MEMBERS: DemoMember[] = [
  {
    userId: 'sakura001',
    symbol: '34',
    number: '1234567',
    birthdate: '1990-03-03',
    name: 'さくら 太郎',
    email: 'taro@sakura.example.jp',
    initialPassword: '34123456719900303',
  },
  {
    userId: 'kosmo002',
    symbol: '34',
    number: '7654321',
    birthdate: '1988-08-08',
    name: 'さくら 花子',
    email: 'hanako@sakura.example.jp',
    password: 'Sakura-2026!',
  } as DemoMember,
];

/** The demo members of each society that has any. */
export const DEMO_MEMBERS_BY_SOCIETY: Record<string, DemoMember[]> = { kosmo: DEMO_MEMBERS, sakura: SAKURA_DEMO_MEMBERS };

export async function seedDemoMembers(sql: Sql, hasher: PasswordHasher, termsVersion: string, members: DemoMember[] = DEMO_MEMBERS): Promise<boolean> {
  const existing = await sql.one<{ n: string }>('select count(*) as n from member');
  if (Number(existing?.n) > 0) return false;
  const second = members[1]!;
  const hash = await hasher.hash(second.password!);
  await sql.transaction(async (tx, em) => {
    await insertMembers(
      tx,
      members.map((m) => memberInputSchema.parse(m)),
    );
    // The second demo member has finished onboarding: own password, confirmed address, terms accepted.
    const member = await tx.one<{ id: string }>(
      `update member set temporary_id = false, email_verified = true, pending_steps = '{}', terms_version = $2, terms_accepted_at = now(),
         chosen_factor = 'email' where user_id = $1 returning id`,
      [second.userId, termsVersion],
    );
    await storeNewPassword({ em, sql: tx }, member!.id, hash);
  });
  return true;
}

export type DemoMember = (typeof DEMO_MEMBERS)[number];

/**
 * The demo members whose printed password still logs them in: one who changed it (or whose user ID
 * changed) since seeding is not advertised with a password that no longer works.
 */
export async function demoMembersWithPrintedPassword(sql: Sql, hasher: PasswordHasher, members: DemoMember[] = DEMO_MEMBERS): Promise<DemoMember[]> {
  const working: DemoMember[] = [];
  for (const m of members) {
    const holder = await sql.one<PasswordHolder>(`select ${PASSWORD_HOLDER_COLUMNS} from member m ${PASSWORD_CREDENTIAL_JOIN} where m.user_id = $1`, [
      m.userId,
    ]);
    if (holder && (await hasher.verify(holder, m.initialPassword ?? m.password!))) working.push(m);
  }
  return working;
}
