import type { Sql } from '../db/sql.js';
import type { Orm } from '../db/orm.js';
import { Member } from '../db/entities/index.js';
import type { LoginStore } from '../flow/login.js';
import { credentialKindsOf } from './credentials.js';
import { clearMemberFailures } from './lockout-store.js';

/** Every page of a login reads the member, and which kinds of credential they hold: one prepared statement. */
const MEMBER_FOR_LOGIN = `select m.*, array(select distinct c.kind from credential c where c.member_id = m.id) as held_kinds
  from member m where m.id = $1`;

/** The login flow's view of the member table (flow/login.ts LoginStore). */
export function loginStore(deps: { sql: Sql; orm: Orm }): LoginStore {
  return {
    async memberForLogin(memberId) {
      const row = await deps.sql.one<Record<string, unknown>>(MEMBER_FOR_LOGIN, [memberId]);
      if (!row) return undefined;
      const { held_kinds: held, ...columns } = row;
      return { member: deps.orm.em.fork().map(Member, columns), heldKinds: held as string[] };
    },
    heldKinds: (memberId) => credentialKindsOf(deps.sql, memberId),
    async currentMember(memberId) {
      return (await deps.orm.em.fork().findOne(Member, { id: memberId })) ?? undefined;
    },
    completeLogin: (memberId, ip, deviceId) => clearMemberFailures(deps.sql, memberId, { type: 'login.completed', ip }, deviceId),
  };
}
