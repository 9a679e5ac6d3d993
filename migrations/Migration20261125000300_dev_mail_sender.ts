import { Migration } from '@mikro-orm/migrations';

export class Migration20261125000300_dev_mail_sender extends Migration {
  override name = 'Migration20261125000300_dev_mail_sender';

  override up(): void {
    // The development mailbox shows who a mail is from (the From header, display name included).
    this.addSql(`alter table dev_mail add column sender text not null default ''`);
  }

  override down(): void {
    this.addSql('alter table dev_mail drop column if exists sender');
  }
}
