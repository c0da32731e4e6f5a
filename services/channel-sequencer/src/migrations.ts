import type { MigrationSet } from "@mimi/store";

/**
 * The channel sequencer's schema:
 * - `channels`: one row per channel with its epoch, MLS public state (no secrets), the latest
 *   GroupInfo and the last log sequence number; the epoch only moves by a conditional update;
 * - `members`: one row per MLS leaf and the actor its credential names; the followers collection is
 *   the distinct actors of these rows, so it cannot drift from the tree;
 * - `log`: every accepted activity in order;
 * - `processed`: the answer to every activity handled (accepted or rejected) and the delivery requests
 *   it produced, so a redelivered record is not applied twice and an interrupted publish is finished;
 * - `roles` (version 2): the owner and admins of each channel; every other member is a `member`, and
 *   a removed member's row goes with the membership change;
 * - `removed_members` (version 2): when each actor was last removed, so their server may read the
 *   followers collection for a grace period; rows past it are pruned by later commits;
 * - `departures` (version 3): the leaves of members who left (a `Leave`), moved out of `members` at
 *   once (so the leaver stops being a follower) and kept until a member commits their Remove.
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
    {
      version: 2,
      name: "roles, removed members",
      // Existing channels get their creator as owner: attributed_to, or the actor of the first log
      // entry (the Create) where it is empty, while the creator is still a member.
      sql: `
        create table channels.roles (
          channel_id text not null references channels.channels(id) on delete cascade,
          actor_url text not null,
          role text not null check (role in ('owner', 'admin')),
          primary key (channel_id, actor_url)
        );
        create unique index roles_one_owner on channels.roles(channel_id) where role = 'owner';
        update channels.channels c set attributed_to = first.actor_url
        from (
          select distinct on (l.channel_id) l.channel_id,
            case jsonb_typeof(l.activity->'actor') when 'string' then l.activity->>'actor'
              else l.activity->'actor'->>'id' end as actor_url
          from channels.log l order by l.channel_id, l.sequence
        ) first
        where first.channel_id = c.id and c.attributed_to = '' and first.actor_url is not null;
        insert into channels.roles (channel_id, actor_url, role)
        select c.id, c.attributed_to, 'owner' from channels.channels c
        where exists (select 1 from channels.members m where m.channel_id = c.id and m.actor_url = c.attributed_to);
        create table channels.removed_members (
          channel_id text not null references channels.channels(id) on delete cascade,
          actor_url text not null,
          removed_at timestamptz not null,
          primary key (channel_id, actor_url)
        );
      `,
    },
    {
      version: 3,
      name: "departures",
      sql: `
        create table channels.departures (
          channel_id text not null references channels.channels(id) on delete cascade,
          leaf_index integer not null,
          actor_url text not null,
          acct text not null,
          departed_at timestamptz not null,
          primary key (channel_id, leaf_index)
        );
      `,
    },
    {
      version: 4,
      name: "remembered channels",
      sql: `
        create table channels.remembered_channels (
          actor_url text not null,
          channel_url text not null,
          recorded_at timestamptz not null,
          primary key (actor_url, channel_url)
        );
      `,
    },
  ],
};
