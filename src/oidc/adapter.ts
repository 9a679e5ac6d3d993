import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { toDate, type Sql } from '../db/sql.js';
import { ACCOUNT_COLUMNS, rememberAccount, type AccountRow } from './account.js';
import { deferConsume, deferWrite, forgetReads, providerRequest, recall, remember, takeDeferredConsume, takeDeferredWrites } from './prefetch.js';

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/** Tokens whose lookup also reads their grant, session and member (see prefetch.ts). */
const WITH_CONTEXT = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken']);
/** Not expired: rows past `expires_at` are invisible at once (the cleanup deletes them later). */
const live = (table?: string) => {
  const column = table ? `${table}.expires_at` : 'expires_at';
  return `(${column} is null or ${column} > now())`;
};
const LIVE = live();

interface TokenRow {
  payload: AdapterPayload;
  consumed_at: Date | string | null;
  grant_payload: AdapterPayload | null;
  session_payload: AdapterPayload | null;
  account: AccountRow | null;
}

/**
 * Reads a code or token together with its grant, the session it is bound to and the member, in one
 * statement that only reads (a refresh grant consumes its token later, in the statement that writes
 * the new tokens: see the adapter's `consume`).
 *
 * The grant, session and member are subqueries, not joins: under row-level security PostgreSQL
 * uses an index only for conditions that cannot leak, and a join on `cur.payload->>'grantId'` is
 * not one (it would read every grant of the society); in a subquery the value is a parameter.
 */
export const TOKEN_WITH_CONTEXT = `
  select cur.payload, cur.consumed_at,
    (select g.payload from oidc_payload g
      where g.model = 'Grant' and g.id = cur.payload->>'grantId' and ${live('g')}) as grant_payload,
    (select s.payload from oidc_payload s
      where s.model = 'Session' and s.uid = cur.payload->>'sessionUid' and ${live('s')} limit 1) as session_payload,
    (select to_jsonb(a) from (select ${ACCOUNT_COLUMNS} from member
       where id = case when cur.payload->>'accountId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                       then (cur.payload->>'accountId')::uuid end) a) as account
  from oidc_payload cur where cur.model = $1 and cur.id = $2 and ${live('cur')}`;

/**
 * The description of the SessionNotFound an interaction answers once it has been resumed at
 * /auth/:uid, or when a login step still running would undo its result: the login is finished,
 * not expired.
 */
export const INTERACTION_FINISHED = 'interaction already finished';

/** Whether `err` says the interaction was already finished (see the adapter's `destroy` and `upsert`). */
export function isInteractionFinished(err: unknown): boolean {
  return err instanceof errors.SessionNotFound && (err as { error_description?: string }).error_description === INTERACTION_FINISHED;
}

type Row = [model: string, id: string, payload: string, grantId: string | null, userCode: string | null, uid: string | null, expiresAt: Date | null];

/** What oidc-provider reads from an interaction's result when it is resumed. */
const PROVIDER_RESULTS = ['login', 'consent', 'error'];

/** The interaction's result is for the provider (the login is handed back), not a login in progress. */
export function handedBack(result: unknown): boolean {
  return typeof result === 'object' && result !== null && PROVIDER_RESULTS.some((key) => key in result);
}

const handedBackSql = (payload: string) => `coalesce(${payload}->'result' ?| array[${PROVIDER_RESULTS.map((k) => `'${k}'`).join(', ')}], false)`;

const UPSERT_COLUMNS = '(model, id, payload, grant_id, user_code, uid, expires_at)';
const ON_CONFLICT = `on conflict (model, id, society_id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
      user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at
    where oidc_payload.model <> 'Interaction'
       or (oidc_payload.consumed_at is null and (not ${handedBackSql('oidc_payload.payload')} or ${handedBackSql('excluded.payload')}))`;

/** `($1, $2, $3::jsonb, …), ($8, …)`: the rows' values, typed (in a VALUES list under SELECT nothing else types them). */
function valuesList(rows: number): string {
  const types = ['', '', '::jsonb', '', '', '', '::timestamptz'];
  return Array.from({ length: rows }, (_, r) => `(${types.map((type, c) => `$${r * 7 + c + 1}${type}`).join(', ')})`).join(', ');
}

/** A statement's text for a number of rows, made once (it is the prepared statement's key, src/db/sql.ts). */
function byRows(make: (rows: number) => string): (rows: number) => string {
  const made = new Map<number, string>();
  return (rows) => {
    const known = made.get(rows);
    if (known !== undefined) return known;
    const text = make(rows);
    made.set(rows, text);
    return text;
  };
}

const upsertStatement = byRows((rows) => `insert into oidc_payload ${UPSERT_COLUMNS} values ${valuesList(rows)} ${ON_CONFLICT}`);

/**
 * A refresh grant's one write: it consumes the presented refresh token (the last parameter) and, only
 * if this statement is the one that consumed it, writes the new refresh token and access token.
 * Of two requests presenting the same token at once, the second waits on the row and then writes
 * nothing.
 */
const consumeAndUpsertStatement = byRows(
  (rows) => `with consumed as (
      update oidc_payload set consumed_at = now()
      where model = 'RefreshToken' and id = $${rows * 7 + 1} and consumed_at is null and ${LIVE}
      returning 1)
    insert into oidc_payload ${UPSERT_COLUMNS}
    select * from (values ${valuesList(rows)}) as v where exists (select 1 from consumed)
    ${ON_CONFLICT}`,
);

function inRefreshGrant(): boolean {
  const oidc = providerRequest();
  return oidc?.route === 'token' && oidc.params?.grant_type === 'refresh_token';
}

/** This request is the refresh grant presenting refresh token `id` (the provider rotates it). */
function rotatesInThisRequest(id: string): boolean {
  return inRefreshGrant() && providerRequest()?.params?.refresh_token === id;
}

function markedConsumed(payload: AdapterPayload, consumedAt: Date | string | null): AdapterPayload {
  // The driver returns timestamps as strings. A consumed code or refresh token must come back
  // marked, so that the provider refuses its reuse and revokes the grant instead of failing.
  const at = toDate(consumedAt);
  return at ? { ...payload, consumed: Math.floor(at.getTime() / 1000) } : payload;
}

/**
 * oidc-provider storage on PostgreSQL: one row per stored model instance in `oidc_payload`,
 * with the lookups the provider needs (uid, user code, grant id) served by indexes.
 * Expired rows are invisible at once and deleted by `deleteExpiredOidcPayloads`.
 *
 * A code or refresh token is used at most once, even by simultaneous requests: consuming it is one
 * conditional UPDATE (for a refresh grant, inside the statement that writes the new tokens), and
 * whoever finds it already consumed gets `invalid_grant` and revokes the whole grant (RFC 9700
 * §4.14: a replayed refresh token is a theft signal).
 *
 * An interaction is likewise resumed at most once. The provider's resume (/auth/:uid) reads the
 * interaction, then destroys it before it issues the code; here that destroy is a claim, one
 * conditional UPDATE that marks the row consumed, so of several simultaneous resumes, in any number
 * of processes, one goes on and the others fail with SessionNotFound(INTERACTION_FINISHED). The
 * claimed row stays (emptied) until it expires: reading it, or saving it again (a login step that
 * was still running), fails the same way instead of bringing the interaction back. Before that, once
 * the interaction holds its result for the provider, a step still running cannot replace it with a
 * login in progress either: its save fails the same way.
 */
export function postgresAdapterFactory(sql: Sql) {
  return class PostgresAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      forgetReads();
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const grantId = GRANTABLE.has(this.model) || this.model === 'Grant' ? (payload.grantId ?? null) : null;
      const row: Row = [this.model, id, JSON.stringify(payload), grantId, payload.userCode ?? null, payload.uid ?? null, expiresAt];
      // A refresh grant consumes the presented refresh token, saves the new one, then the access
      // token, then answers: all three in one statement, before the answer. If the request fails in
      // between, nothing is written: the client never sees the new refresh token, and the one it
      // presented still works.
      if (this.model === 'RefreshToken' && inRefreshGrant() && deferWrite(row)) return;
      const rows = [...takeDeferredWrites<Row>(), row];
      const consumes = takeDeferredConsume();
      if (consumes !== undefined) {
        const written = await sql.run(consumeAndUpsertStatement(rows.length), [...rows.flat(), consumes]);
        if (written < rows.length) await this.replayed('RefreshToken', consumes);
        return;
      }
      const written = await sql.run(upsertStatement(rows.length), rows.flat());
      if (this.model === 'Interaction' && written < rows.length) throw new errors.SessionNotFound(INTERACTION_FINISHED);
    }

    private async findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const row = await sql.one<{ payload: AdapterPayload; consumed_at: Date | string | null }>(
        `select payload, consumed_at from oidc_payload where model = $1 and ${column} = $2 and ${LIVE}`,
        [this.model, value],
      );
      return row ? markedConsumed(row.payload, row.consumed_at) : undefined;
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Interaction') {
        const row = await sql.one<{ payload: AdapterPayload; consumed_at: Date | string | null }>(
          `select payload, consumed_at from oidc_payload where model = 'Interaction' and id = $1 and ${LIVE}`,
          [id],
        );
        if (row?.consumed_at) throw new errors.SessionNotFound(INTERACTION_FINISHED);
        return row?.payload;
      }
      if (this.model === 'Grant') {
        const hit = recall<AdapterPayload>(`Grant:${id}`);
        if (hit !== undefined) return hit ?? undefined;
      }
      if (!WITH_CONTEXT.has(this.model) || !providerRequest()) return this.findBy('id', id);
      const row = await sql.one<TokenRow>(TOKEN_WITH_CONTEXT, [this.model, id]);
      if (!row) return undefined;
      const { grantId, sessionUid, accountId } = row.payload as { grantId?: string; sessionUid?: string; accountId?: string };
      if (grantId) remember(`Grant:${grantId}`, row.grant_payload);
      if (sessionUid) remember(`Session:uid:${sessionUid}`, row.session_payload);
      if (accountId) rememberAccount(accountId, row.account);
      return markedConsumed(row.payload, row.consumed_at);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Session') {
        const hit = recall<AdapterPayload>(`Session:uid:${uid}`);
        if (hit !== undefined) return hit ?? undefined;
      }
      return this.findBy('uid', uid);
    }

    findByUserCode(userCode: string) {
      return this.findBy('user_code', userCode);
    }

    /**
     * A refresh grant's rotation consumes the presented token in the statement that writes the new
     * tokens (see `upsert`), not here: one write per grant. Anything else is consumed at once.
     */
    async consume(id: string): Promise<void> {
      if (this.model === 'RefreshToken' && rotatesInThisRequest(id) && deferConsume(id)) return;
      const won = await sql.run(`update oidc_payload set consumed_at = now() where model = $1 and id = $2 and consumed_at is null`, [this.model, id]);
      if (!won) await this.replayed(this.model, id);
    }

    /**
     * Someone else redeemed the code or refresh token first (at the same moment, or earlier): it is
     * a replay. The whole grant goes (RFC 9700 §4.14), the tokens the other request got with it.
     */
    private async replayed(model: string, id: string): Promise<never> {
      forgetReads();
      await sql.run(
        `with used as (select grant_id from oidc_payload where model = $1 and id = $2 and grant_id is not null)
         delete from oidc_payload where grant_id in (select grant_id from used) or (model = 'Grant' and id in (select grant_id from used))`,
        [model, id],
      );
      throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
    }

    async destroy(id: string): Promise<void> {
      forgetReads();
      if (this.model === 'Interaction') {
        const claimed = await sql.run(
          `update oidc_payload set consumed_at = now(), payload = '{}'::jsonb
           where model = 'Interaction' and id = $1 and consumed_at is null and ${LIVE}`,
          [id],
        );
        if (!claimed) throw new errors.SessionNotFound(INTERACTION_FINISHED);
        return;
      }
      await sql.run('delete from oidc_payload where model = $1 and id = $2', [this.model, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      forgetReads();
      await sql.run('delete from oidc_payload where grant_id = $1', [grantId]);
    }
  };
}

export async function deleteExpiredOidcPayloads(sql: Sql): Promise<number> {
  return sql.run('delete from oidc_payload where expires_at < now()');
}
