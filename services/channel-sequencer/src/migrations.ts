import type { MigrationSet } from "@mimi/store";

/**
 * The channel sequencer's schema:
 * - `channels`: one row per channel with its epoch, MLS public state (no secrets), the latest
 *   GroupInfo and the last log sequence number; the epoch only moves by a conditional update;
 * - `members`: one row per MLS leaf and the actor its credential names; the followers collection is
 *   the distinct actors of these rows, so it cannot drift from the tree;
 * - `log`: every accepted activity in order;
 * - `processed`: the answer to every activity handled (accepted or rejected) and the delivery requests
 *   it produced, so a redelivered record is not applied twice and an interrupted publish is finished.
 */
export const channelSequencerMigrations: MigrationSet = {
  schema: "channels",
  migrations: [
    {
      version: 1,
      name: "channels, members, log, processed activities",
      sql: `
        create table channels.channels (
          id text primary key,
          name text not null,
          attributed_to text not null,
          ciphersuite text not null,
          epoch bigint not null,
          public_state bytea not null,
          group_info bytea not null,
          last_sequence bigint not null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now()
        );
        create table channels.members (
          channel_id text not null references channels.channels(id) on delete cascade,
          leaf_index integer not null,
          actor_url text not null,
          acct text not null,
          primary key (channel_id, leaf_index)
        );
        create index members_actor_url on channels.members(actor_url);
        create table channels.log (
          channel_id text not null references channels.channels(id) on delete cascade,
          sequence bigint not null,
          epoch bigint not null,
          activity_id text not null,
          activity jsonb not null,
          appended_at timestamptz not null default now(),
          primary key (channel_id, sequence),
          unique (channel_id, activity_id)
        );
        create table channels.processed (
          channel_id text not null,
          activity_id text not null,
          outcome text not null check (outcome in ('accepted', 'rejected')),
          deliveries jsonb not null,
          published_at timestamptz,
          processed_at timestamptz not null default now(),
          primary key (channel_id, activity_id)
        );
      `,
    },
  ],
};
