#!/bin/sh
# Run by the postgres image once, when the database volume is first created (docker-compose.yml):
# the role kosmo-idp connects as (DATABASE_URL). It owns nothing and cannot bypass row-level
# security; the migrations, run as the owner (POSTGRES_USER, MIGRATION_DATABASE_URL), grant it the
# rows of its tables (README, "Database roles").
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=password="$APP_DB_PASSWORD" <<'SQL'
create role kosmo_app login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password :'password';
SQL
