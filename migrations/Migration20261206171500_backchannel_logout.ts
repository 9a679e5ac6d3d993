import { Migration } from '@mikro-orm/migrations';

/** The society of the connection: none when unset or '' (src/db/society.ts). */
const CURRENT = `nullif(current_setting('app.society', true), '')`;

/**
 * The back-channel logout outbox (src/oidc/backchannel-outbox.ts): one row per logout token a portal
 * is owed, written in the same transaction as the change that ended the member's session, delivered
 * (and deleted) by any process, retried with backoff, kept with `gave_up_at` after the last try.
 */
export class Migration20261206171500_backchannel_logout extends Migration {
  override name = 'Migration20261206171500_backchannel_logout';

  override up(): void {
    this.addSql(`create table backchannel_logout (
      id uuid not null default gen_random_uuid(),
      society_id text not null default current_setting('app.society'),
      client_id text not null,
      account_id text not null,
      sid text null,
      attempts int not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_error text null,
      gave_up_at timestamptz null,
      created_at timestamptz not null default now(),
      primary key (id, society_id)
    )`);
    this.addSql(`create index backchannel_logout_due on backchannel_logout (next_attempt_at, society_id) where gave_up_at is null`);
    this.addSql(`alter table backchannel_logout enable row level security`);
    this.addSql(`alter table backchannel_logout force row level security`);
    this.addSql(`create policy society_isolation on backchannel_logout using (society_id = ${CURRENT}) with check (society_id = ${CURRENT})`);
  }

  override down(): void {
    this.addSql(`drop table backchannel_logout`);
  }
}
