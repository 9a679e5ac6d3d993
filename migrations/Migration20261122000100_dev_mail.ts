import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000100_dev_mail extends Migration {
  override name = 'Migration20261122000100_dev_mail';

  override up(): void {
    // Mail caught by the development SMTP server (src/mail/dev-smtp-server.ts); unused in production.
    this.addSql(`
      create table dev_mail (
        id bigserial primary key,
        recipients text not null,
        subject text not null default '',
        html text null,
        text text null,
        created_at timestamptz not null default now()
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists dev_mail');
  }
}
