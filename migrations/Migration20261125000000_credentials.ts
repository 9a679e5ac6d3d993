import { Migration } from '@mikro-orm/migrations';

export class Migration20261125000000_credentials extends Migration {
  override name = 'Migration20261125000000_credentials';

  override up(): void {
    // Every way a member proves who they are: their own password (a bcrypt hash), TOTP devices
    // (secret sealed with SECRETS_KEY), passkeys (public key and counters) and the email method.
    this.addSql(`
      create table credential (
        id uuid primary key,
        member_id uuid not null references member (id) on delete cascade,
        kind varchar(16) not null,
        label varchar(64) not null default '',
        secret text null,
        webauthn_id varchar(1024) null,
        public_key text null,
        sign_count bigint not null default 0,
        transports text[] not null default '{}',
        backed_up boolean null,
        device_type varchar(32) null,
        aaguid varchar(36) null,
        last_time_step bigint null,
        created_at timestamptz not null default now(),
        last_used_at timestamptz null,
        constraint credential_kind_check check (kind in ('password', 'totp', 'passkey', 'email'))
      )`);
    this.addSql(`create unique index credential_label_unique on credential (member_id, kind, label)`);
    this.addSql(`create unique index credential_webauthn_id_unique on credential (webauthn_id)`);

    // The member's chosen second factor, as a credential kind; today's auth_method carries over.
    this.addSql(`alter table member add column chosen_factor varchar(16) null`);
    this.addSql(`alter table member add constraint member_chosen_factor_check check (chosen_factor in ('totp', 'passkey', 'email'))`);
    this.addSql(`update member set chosen_factor = case auth_method when 'email_otp' then 'email' else auth_method end where auth_method is not null`);
    this.addSql(`
      insert into credential (id, member_id, kind, label, secret, created_at)
      select gen_random_uuid(), id, 'password', '', password_hash, coalesce(password_created_at, now())
      from member where password_hash is not null`);
    this.addSql(`alter table member drop column auth_method, drop column password_hash, drop column password_created_at`);

    // Short codes sent by mail (email one-time passwords): only a hash is stored, tries are counted.
    this.addSql(`
      create table one_time_code (
        id uuid primary key,
        member_id uuid not null references member (id) on delete cascade,
        purpose varchar(32) not null,
        code_hash varchar(64) not null,
        attempts int not null default 0,
        expires_at timestamptz not null,
        used_at timestamptz null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create index one_time_code_member on one_time_code (member_id, purpose, created_at)`);
  }
}
