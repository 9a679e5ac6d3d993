import { Migration } from '@mikro-orm/migrations';

export class Migration20261125010000_hardening extends Migration {
  override name = 'Migration20261125010000_hardening';

  override up(): void {
    // Raised whenever the member's credentials are reset (a reset link, later a factor reset): a login
    // that passed the old password before it carries the old value and cannot finish.
    this.addSql(`alter table member add column auth_epoch integer not null default 0`);
  }
}
