import type { Adapter, AdapterPayload } from 'oidc-provider';
import { toDate, type Sql } from '../db/sql.js';

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * oidc-provider storage on PostgreSQL: one row per stored model instance in `oidc_payload`,
 * with the lookups the provider needs (uid, user code, grant id) served by indexes.
 * Expired rows are invisible at once and deleted by `deleteExpiredOidcPayloads`.
 */
export function postgresAdapterFactory(sql: Sql) {
  return class PostgresAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const grantId = GRANTABLE.has(this.model) || this.model === 'Grant' ? payload.grantId ?? null : null;
      await sql.run(
        `insert into oidc_payload (model, id, payload, grant_id, user_code, uid, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [this.model, id, JSON.stringify(payload), grantId, payload.userCode ?? null, payload.uid ?? null, expiresAt],
      );
    }

    private async findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const row = await sql.one<{ payload: AdapterPayload; consumed_at: Date | string | null }>(
        `select payload, consumed_at from oidc_payload
         where model = $1 and ${column} = $2 and (expires_at is null or expires_at > now())`,
        [this.model, value],
      );
      if (!row) return undefined;
      // The driver returns timestamps as strings. A consumed code or refresh token must come back
      // marked, so that the provider refuses its reuse and revokes the grant instead of failing.
      const consumedAt = toDate(row.consumed_at);
      return consumedAt ? { ...row.payload, consumed: Math.floor(consumedAt.getTime() / 1000) } : row.payload;
    }

    find(id: string) { return this.findBy('id', id); }
    findByUid(uid: string) { return this.findBy('uid', uid); }
    findByUserCode(userCode: string) { return this.findBy('user_code', userCode); }

    async consume(id: string): Promise<void> {
      await sql.run('update oidc_payload set consumed_at = now() where model = $1 and id = $2', [this.model, id]);
    }

    async destroy(id: string): Promise<void> {
      await sql.run('delete from oidc_payload where model = $1 and id = $2', [this.model, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await sql.run('delete from oidc_payload where grant_id = $1', [grantId]);
    }
  };
}

export async function deleteExpiredOidcPayloads(sql: Sql): Promise<number> {
  return sql.run('delete from oidc_payload where expires_at < now()');
}
