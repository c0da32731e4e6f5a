import type { MigrationSet } from "@mimi/store";

/**
 * The only state inbox-ingest keeps: which activities it already accepted, so a redelivery is
 * answered 202 without being published again. The key includes the receiving target and the
 * authenticated sender because one activity legitimately arrives more than once (from its
 * author and forwarded by a channel, or at a personal and at the shared inbox).
 */
export const inboxIngestMigrations: MigrationSet = {
  schema: "ingest",
  migrations: [
    {
      version: 1,
      name: "seen_activities",
      sql: `
        create table ingest.seen_activities (
          activity_id text not null,
          target text not null,
          sender text not null,
          seen_at timestamptz not null default now(),
          primary key (activity_id, target, sender)
        );
        create index seen_activities_seen_at on ingest.seen_activities(seen_at);
      `,
    },
  ],
};
