import type { MigrationSet } from "@mimi/store";

export const identityMigrations: MigrationSet = {
  schema: "identity",
  migrations: [
    {
      version: 1,
      name: "accounts, tokens, clients, certificate authority",
      sql: `
        create table identity.accounts (
          username text primary key,
          password_hash text not null,
          created_at timestamptz not null default now()
        );
        create table identity.tokens (
          token_hash text primary key,
          username text not null references identity.accounts(username) on delete cascade,
          label text not null default '',
          created_at timestamptz not null default now(),
          revoked_at timestamptz
        );
        create index tokens_username on identity.tokens(username);
        create table identity.clients (
          id text primary key,
          username text not null references identity.accounts(username) on delete cascade,
          name text not null,
          created_at timestamptz not null default now()
        );
        create index clients_username on identity.clients(username);
        create table identity.certificate_authorities (
          id serial primary key,
          certificate_pem text not null,
          private_key_encrypted bytea not null,
          created_at timestamptz not null default now(),
          retired_at timestamptz
        );
      `,
    },
  ],
};
