import type { MigrationSet } from "@mimi/store";

export const deliveryFanoutMigrations: MigrationSet = {
  schema: "delivery",
  migrations: [
    {
      version: 1,
      name: "mailbox, remote actor cache, destination health, scheduled retries, dead letters",
      sql: `
        create table delivery.mailbox (
          seq bigserial primary key,
          username text not null,
          activity_id text not null,
          activity text not null,
          delivered_by text not null,
          received_at timestamptz not null,
          stored_at timestamptz not null default now(),
          unique (username, activity_id)
        );
        create index mailbox_username_seq on delivery.mailbox (username, seq);
        create table delivery.remote_actors (
          actor_id text primary key,
          inbox text not null,
          shared_inbox text,
          public_key_id text,
          fetched_at timestamptz not null,
          expires_at timestamptz not null
        );
        create table delivery.destinations (
          origin text primary key,
          failure_days jsonb not null default '[]',
          unavailable_since timestamptz,
          last_failure_at timestamptz
        );
        create table delivery.scheduled_messages (
          id bigserial primary key,
          topic text not null,
          message_key text not null,
          payload bytea not null,
          headers jsonb not null default '{}',
          due_at timestamptz not null,
          reason text not null default '',
          created_at timestamptz not null default now()
        );
        create index scheduled_messages_due on delivery.scheduled_messages (due_at, id);
        create table delivery.dead_letters (
          id bigserial primary key,
          activity_id text not null,
          inbox text,
          recipients jsonb not null,
          reason text not null,
          attempts integer not null,
          first_attempt_at timestamptz not null,
          dead_at timestamptz not null default now()
        );
        create index dead_letters_activity on delivery.dead_letters (activity_id);
      `,
    },
    {
      version: 2,
      name: "held pairs: the stored backlog of a signer's deliveries to a destination that failed",
      sql: `
        create table delivery.held_pairs (
          signer text not null,
          destination text not null,
          due_at timestamptz not null,
          not_before timestamptz,
          reason text not null default '',
          held_since timestamptz not null default now(),
          primary key (signer, destination)
        );
        create index held_pairs_due on delivery.held_pairs (due_at);
        create index held_pairs_destination on delivery.held_pairs (destination);
        create table delivery.held_jobs (
          signer text not null,
          destination text not null,
          ordinal bigint not null,
          activity_id text not null,
          inbox text not null,
          payload text not null,
          headers jsonb not null default '{}',
          attempts integer not null,
          stored_at timestamptz not null default now(),
          primary key (signer, destination, ordinal),
          unique (signer, destination, activity_id, inbox),
          foreign key (signer, destination) references delivery.held_pairs (signer, destination)
        );
      `,
    },
    {
      version: 3,
      name: "mailbox quota: each user's items and bytes, kept with every insert and prune",
      sql: `
        create table delivery.mailbox_usage (
          username text primary key,
          items bigint not null default 0,
          bytes bigint not null default 0,
          refused_at timestamptz
        );
        insert into delivery.mailbox_usage (username, items, bytes)
          select username, count(*), sum(octet_length(activity)) from delivery.mailbox group by username;
        create index mailbox_stored_at on delivery.mailbox (stored_at, seq);
      `,
    },
  ],
};
