import { Migration } from '@mikro-orm/migrations';

/**
 * Signing keys that rotate (`keys rotate`): a key is published from its creation, signs from
 * `activates_at`, and leaves the JWKS at `retires_at`, once every token it signed has expired.
 * The keys there are now sign from now on, as before.
 */
export class Migration20261206172003_signing_key_schedule extends Migration {
  override name = 'Migration20261206172003_signing_key_schedule';

  override up(): void {
    this.addSql(`alter table signing_key add column activates_at timestamptz not null default now()`);
    this.addSql(`update signing_key set activates_at = created_at`);
    this.addSql(`alter table signing_key add column retires_at timestamptz`);
  }
}
