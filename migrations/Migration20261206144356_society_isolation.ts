import { Migration } from '@mikro-orm/migrations';
import { DEFAULT_SOCIETY } from '../src/db/society.js';

/** The tables whose rows belong to a society when this migration landed (src/db/society.ts SOCIETY_TABLES). */
const TABLES = [
  'member',
  'credential',
  'one_time_code',
  'recovery_code',
  'member_event',
  'email_verification',
  'password_reset',
  'session_device',
  'rate_limit',
  'login_lockout',
  'oidc_payload',
  'signing_key',
  'dev_mail',
];

/** The society of the connection: none when unset or '' (src/db/society.ts). */
const CURRENT = `nullif(current_setting('app.society', true), '')`;

export class Migration20261206144356_society_isolation extends Migration {
  override name = 'Migration20261206144356_society_isolation';

  override up(): void {
    // Every row of these tables belongs to a society. What is there already belongs to the default
    // society; a new row takes the society its connection is set to (an unset one refuses the insert).
    // dev_mail too: the development mailbox holds members' addresses, names, codes and reset links.
    for (const table of TABLES) {
      this.addSql(`alter table ${table} add column society_id text not null default '${DEFAULT_SOCIETY}'`);
      this.addSql(`alter table ${table} alter column society_id set default current_setting('app.society')`);
    }

    // A member's identity is unique within a society: two societies may each have a kosmo002, and an
    // address, a passkey or a lockout key of one says nothing about the other.
    //
    // society_id comes last in these keys. Every statement on these tables carries the policy's
    // `society_id = …`, which the planner can match to an index whose first column is society_id; on
    // a table without statistics yet (just filled) it may then read the whole society through such
    // an index instead of the one for the lookup (measured: a refresh grant's member read went from
    // 0.1 ms to 4 ms). Last, society_id still makes each key per society and is still in the index.
    this.addSql(`alter table member drop constraint member_user_id_unique`);
    this.addSql(`alter table member add constraint member_user_id_unique unique (user_id, society_id)`);
    this.addSql(`drop index member_email_unique`);
    this.addSql(`create unique index member_email_unique on member (email, society_id) where email is not null`);
    this.addSql(`drop index credential_webauthn_id_unique`);
    this.addSql(`create unique index credential_webauthn_id_unique on credential (webauthn_id, society_id)`);
    this.addSql(`alter table rate_limit drop constraint rate_limit_pkey, add primary key (bucket, society_id)`);
    this.addSql(`alter table login_lockout drop constraint login_lockout_pkey, add primary key (subject, society_id)`);
    // The provider's ids are the society's own (one Provider per society), its session uids too.
    // Our own random tokens (email_verification, password_reset) and key ids stay unique as they are.
    this.addSql(`alter table oidc_payload drop constraint oidc_payload_pkey, add primary key (model, id, society_id)`);
    this.addSql(`alter table session_device drop constraint session_device_pkey, add primary key (session_uid, society_id)`);

    // Under row-level security, PostgreSQL uses an index only for conditions it knows cannot leak
    // (plain comparisons of columns); `payload->>'accountId' = $1` is not one of them. The member a
    // row belongs to becomes a column of its own, so revoking or listing a member's sessions and
    // tokens still finds them through an index.
    this.addSql(`alter table oidc_payload add column account_id text generated always as (payload->>'accountId') stored`);
    this.addSql(`drop index oidc_payload_account`);
    this.addSql(`create index oidc_payload_account on oidc_payload (account_id, society_id) where account_id is not null`);
    // A session is found by its uid (`model = 'Session' and uid = …`): with the model and the society
    // in the uid's index, the primary key's (model, …, society_id) is never the better-looking choice.
    this.addSql(`drop index oidc_payload_uid`);
    this.addSql(`create index oidc_payload_uid on oidc_payload (uid, model, society_id) where uid is not null`);

    // Row-level security: a connection sees and writes only the rows of the society it is set to
    // (app.society), the tables' owner included (FORCE); none at all when no society is set.
    for (const table of TABLES) {
      this.addSql(`alter table ${table} enable row level security`);
      this.addSql(`alter table ${table} force row level security`);
      this.addSql(`create policy society_isolation on ${table} using (society_id = ${CURRENT}) with check (society_id = ${CURRENT})`);
    }
  }
}
