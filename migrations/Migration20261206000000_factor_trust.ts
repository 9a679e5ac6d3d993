import { Migration } from '@mikro-orm/migrations';

export class Migration20261206000000_factor_trust extends Migration {
  override name = 'Migration20261206000000_factor_trust';

  override up(): void {
    // The acr of the session that added a device, when it was weaker than the device itself (a
    // passkey added from a session proved only by a mailed code). A login with that device reaches
    // no more than this (src/factors/acr.ts): a device added from a weak session never makes its
    // successors strong. Null: the device counts as what it is (set up inside a login, or earlier).
    this.addSql(`alter table credential add column trust_acr varchar(32) null`);
    // The same for a set of recovery codes: issued from a session weaker than what a code is worth.
    this.addSql(`alter table recovery_code add column trust_acr varchar(32) null`);
  }

  override down(): void {
    this.addSql('alter table recovery_code drop column if exists trust_acr');
    this.addSql('alter table credential drop column if exists trust_acr');
  }
}
