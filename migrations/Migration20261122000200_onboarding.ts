import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000200_onboarding extends Migration {
  override name = 'Migration20261122000200_onboarding';

  override up(): void {
    // Single-use links sent by mail; only a SHA-256 of the token is stored.
    this.addSql(`
      create table email_verification (
        token_hash varchar(64) primary key,
        member_id uuid not null references member (id) on delete cascade,
        email varchar(320) not null,
        expires_at timestamptz not null,
        used_at timestamptz null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create index email_verification_member on email_verification (member_id, created_at desc)`);
  }
}
