import type { MigrationSet } from "@mimi/store";

/**
 * KeyPackages are durable here; the claim store (Redis or memory) only mirrors which ids can still be
 * handed out. `claimed_at` is the final word on single use: a row is served only by the one update
 * that sets it. Claimed rows stay (without being served again) so a re-upload of the same bytes is
 * recognised and never makes a used KeyPackage available again.
 */
export const keyPackageDirectoryMigrations: MigrationSet = {
  schema: "keypackages",
  migrations: [
    {
      version: 1,
      name: "key_packages",
      sql: `
        create table keypackages.key_packages (
          id text primary key,
          seq bigserial not null,
          username text not null,
          client_id text not null,
          ciphersuite integer not null,
          last_resort boolean not null,
          content bytea not null,
          not_after timestamptz not null,
          uploaded_at timestamptz not null default now(),
          claimed_at timestamptz,
          claimed_by text
        );
        create index key_packages_unclaimed on keypackages.key_packages(username, client_id, ciphersuite, seq)
          where claimed_at is null;
        create unique index key_packages_one_last_resort on keypackages.key_packages(client_id)
          where last_resort;
      `,
    },
  ],
};
