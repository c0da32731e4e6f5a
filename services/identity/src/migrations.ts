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
    {
      version: 2,
      name: "credential challenges and issued credentials",
      sql: `
        create table identity.credential_challenges (
          challenge text primary key,
          username text not null references identity.accounts(username) on delete cascade,
          client_id text not null references identity.clients(id) on delete cascade,
          expires_at timestamptz not null
        );
        create table identity.issued_credentials (
          serial bigserial primary key,
          client_id text not null references identity.clients(id) on delete cascade,
          signature_public_key bytea not null,
          certificate_der bytea not null,
          ca_id integer not null references identity.certificate_authorities(id),
          not_after timestamptz not null,
          issued_at timestamptz not null default now()
        );
        create index issued_credentials_client on identity.issued_credentials(client_id);
      `,
    },
    {
      version: 3,
      name: "sliding sessions: last use of a token, the idle limit",
      // Existing tokens count as used now, so the upgrade logs nobody out. The policy has one row;
      // identity writes MIMI_SESSION_IDLE_DAYS into it at start, and every service's token check reads it.
      sql: `
        alter table identity.tokens add column last_used_at timestamptz not null default now();
        create table identity.session_policy (
          id boolean primary key default true check (id),
          idle_seconds integer not null check (idle_seconds >= 0)
        );
        insert into identity.session_policy (idle_seconds) values (${30 * 24 * 60 * 60});
      `,
    },
    {
      version: 4,
      name: "account deletion: a deleted account keeps its row while its name is quarantined",
      // The row stays (password and sessions gone) so the name cannot be registered again until the
      // quarantine ends and the row is purged: peers may still hold the old actor's documents.
      sql: `
        alter table identity.accounts add column deleted_at timestamptz;
        create index accounts_deleted_at on identity.accounts(deleted_at) where deleted_at is not null;
      `,
    },
    {
      version: 5,
      name: "domain blocks: domains the provider does not federate with",
      // `config` rows mirror MIMI_BLOCKED_DOMAINS (rewritten at every start), `admin` rows come from
      // the admin API; every service reads the table through @mimi/identity/reads.
      sql: `
        create table identity.blocked_domains (
          domain text primary key,
          source text not null check (source in ('config', 'admin')),
          created_by text,
          created_at timestamptz not null default now()
        );
      `,
    },
    {
      version: 6,
      name: "user blocks: the users and domains a user blocked",
      // `target` is `user@host` (lower-cased user) or a bare domain; other services read a user's
      // blocks through @mimi/identity/reads to refuse claims and direct deliveries.
      sql: `
        create table identity.user_blocks (
          username text not null references identity.accounts(username) on delete cascade,
          target text not null,
          kind text not null check (kind in ('user', 'domain')),
          created_at timestamptz not null default now(),
          primary key (username, target)
        );
      `,
    },
    {
      version: 7,
      name: "consent: who requires it, their contacts, and the invites of strangers",
      // Contacts and invites name actors by URL (a claim's requester is its key owner). The directory
      // writes invites and claimed contacts through @mimi/identity/reads; identity's API the rest.
      sql: `
        create table identity.consent_policy (
          username text primary key references identity.accounts(username) on delete cascade,
          required boolean not null
        );
        create table identity.contacts (
          username text not null references identity.accounts(username) on delete cascade,
          contact text not null,
          source text not null check (source in ('accepted', 'claimed')),
          created_at timestamptz not null default now(),
          primary key (username, contact)
        );
        create table identity.invites (
          username text not null references identity.accounts(username) on delete cascade,
          requester text not null,
          requested_at timestamptz not null default now(),
          primary key (username, requester)
        );
        create index invites_requester on identity.invites(requester);
      `,
    },
  ],
};
