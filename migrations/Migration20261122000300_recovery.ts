import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000300_recovery extends Migration {
  override name = 'Migration20261122000300_recovery';

  override up(): void {
    // 「パスワードをリセット」 links: single use, short-lived; only a SHA-256 of the token is stored.
    this.addSql(`
      create table password_reset (
        token_hash varchar(64) primary key,
        member_id uuid not null references member (id) on delete cascade,
        expires_at timestamptz not null,
        used_at timestamptz null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create index password_reset_member on password_reset (member_id, created_at desc)`);
    // Revoking everything a member holds (after a password reset) finds their rows by this index.
    this.addSql(`create index oidc_payload_account on oidc_payload ((payload->>'accountId')) where payload ? 'accountId'`);
  }
}
