import { Migration } from '@mikro-orm/migrations';

export class Migration20261125000200_recovery_codes extends Migration {
  override name = 'Migration20261125000200_recovery_codes';

  override up(): void {
    // Single-use recovery codes, in place of the second factor at login: only an HMAC of each is kept.
    this.addSql(`
      create table recovery_code (
        id uuid primary key,
        member_id uuid not null references member (id) on delete cascade,
        code_hash varchar(64) not null,
        used_at timestamptz null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create unique index recovery_code_hash_unique on recovery_code (member_id, code_hash)`);
  }
}
