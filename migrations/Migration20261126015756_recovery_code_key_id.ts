import { Migration } from '@mikro-orm/migrations';

export class Migration20261126015756_recovery_code_key_id extends Migration {
  override name = 'Migration20261126015756_recovery_code_key_id';

  override up(): void {
    // Which SECRETS_KEY made a recovery code's HMAC (src/secrets.ts secretsKeyId). A hash cannot be
    // made again under a new key, so `secrets rotate` counts the codes that still need an earlier
    // one. Null: issued before key ids were recorded.
    this.addSql(`alter table recovery_code add column key_id varchar(16) null`);
  }

  override down(): void {
    this.addSql('alter table recovery_code drop column if exists key_id');
  }
}
