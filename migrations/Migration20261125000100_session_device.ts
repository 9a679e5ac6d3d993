import { Migration } from '@mikro-orm/migrations';

export class Migration20261125000100_session_device extends Migration {
  override name = 'Migration20261125000100_session_device';

  override up(): void {
    // Where each provider session is used from, for the console's list of devices: written when a
    // portal is given a login (oidc-provider's authorization.success), deleted with the session.
    this.addSql(`
      create table session_device (
        session_uid varchar(64) primary key,
        member_id uuid not null references member (id) on delete cascade,
        user_agent varchar(512) not null default '',
        ip varchar(64) null,
        first_seen timestamptz not null default now(),
        last_seen timestamptz not null default now()
      )`);
    this.addSql(`create index session_device_member on session_device (member_id, last_seen desc)`);
  }
}
