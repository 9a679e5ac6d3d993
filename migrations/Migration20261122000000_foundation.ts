import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000000_foundation extends Migration {
  override name = 'Migration20261122000000_foundation';

  override up(): void {
    this.addSql(`
      create table member (
        id uuid primary key,
        user_id varchar(64) not null,
        display_name varchar(200) not null,
        insurance_symbol varchar(32) not null,
        insurance_number varchar(32) not null,
        birthdate date not null,
        email varchar(320) null,
        email_verified boolean not null default false,
        password_hash varchar(100) null,
        password_created_at timestamptz null,
        must_change_password boolean not null default true,
        temporary_id boolean not null default true,
        locale varchar(8) not null default 'ja',
        pending_steps text[] not null default '{}',
        terms_version varchar(64) null,
        terms_accepted_at timestamptz null,
        auth_method varchar(16) null,
        failed_logins int not null default 0,
        lock_count int not null default 0,
        locked_until timestamptz null,
        locked_permanently boolean not null default false,
        last_login_at timestamptz null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        constraint member_user_id_unique unique (user_id),
        constraint member_user_id_lowercase check (user_id = lower(user_id))
      )`);
    this.addSql(`create unique index member_email_unique on member (email) where email is not null`);

    // Every model oidc-provider stores, in one table keyed by (model, id).
    this.addSql(`
      create table oidc_payload (
        model varchar(64) not null,
        id varchar(255) not null,
        payload jsonb not null,
        grant_id varchar(255) null,
        user_code varchar(255) null,
        uid varchar(255) null,
        expires_at timestamptz null,
        consumed_at timestamptz null,
        primary key (model, id)
      )`);
    this.addSql(`create index oidc_payload_grant_id on oidc_payload (grant_id) where grant_id is not null`);
    this.addSql(`create index oidc_payload_user_code on oidc_payload (user_code) where user_code is not null`);
    this.addSql(`create index oidc_payload_uid on oidc_payload (uid) where uid is not null`);
    this.addSql(`create index oidc_payload_expires_at on oidc_payload (expires_at) where expires_at is not null`);

    // Signing keys generated in development, encrypted at rest.
    this.addSql(`
      create table signing_key (
        kid varchar(64) primary key,
        encrypted_jwk text not null,
        created_at timestamptz not null default now()
      )`);

    // Counters shared by every process: login attempts per IP, lockouts of unknown user IDs, recovery limits.
    this.addSql(`
      create table rate_limit (
        bucket varchar(255) primary key,
        count int not null,
        window_ends_at timestamptz not null
      )`);
    this.addSql(`create index rate_limit_window_ends_at on rate_limit (window_ends_at)`);

    // Lockout state for user IDs that do not exist, keyed by an HMAC of the typed ID, so that an
    // unknown ID answers exactly like a real one (no user enumeration through lockouts).
    this.addSql(`
      create table login_lockout (
        subject varchar(64) primary key,
        failed_logins int not null default 0,
        lock_count int not null default 0,
        locked_until timestamptz null,
        locked_permanently boolean not null default false,
        updated_at timestamptz not null default now()
      )`);

    // What happened to a member, for administrators (never passwords or codes).
    this.addSql(`
      create table member_event (
        id bigserial primary key,
        member_id uuid null references member (id) on delete set null,
        type varchar(64) not null,
        detail jsonb not null default '{}',
        ip varchar(64) null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create index member_event_member_id on member_event (member_id, created_at)`);
  }
}
