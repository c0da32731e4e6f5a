import { migrate } from "@mimi/store";
import { openPglite, openPostgres, type TestBackend } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChannelChange,
  type ChannelMember,
  type ChannelStore,
  channelSequencerMigrations,
  createChannelStore,
} from "../src/service.js";

const databaseUrl = process.env.DATABASE_URL;

const alice = "https://a.example/users/alice";
const bob = "https://b.example/users/bob";
const carol = "https://c.example/users/carol";

const member = (leafIndex: number, actorUrl: string): ChannelMember => ({
  leafIndex,
  actorUrl,
  acct: `acct:${leafIndex}@x`,
});

function storeSuite(name: string, open: () => Promise<TestBackend>) {
  describe(name, () => {
    let backend: TestBackend;
    let store: ChannelStore;
    beforeAll(async () => {
      backend = await open();
      store = createChannelStore(backend.sql);
    });
    afterAll(async () => {
      await backend?.dispose();
    });

    it("migration 2 makes each existing channel's creator its owner, while still a member", async () => {
      const { sql } = backend;
      await migrate(sql, {
        schema: channelSequencerMigrations.schema,
        migrations: channelSequencerMigrations.migrations.filter((migration) => migration.version === 1),
      });
      const insertChannel = (id: string, attributedTo: string, members: string[], firstActor: unknown) =>
        sql.transaction(async (tx) => {
          await tx.query(
            `insert into channels.channels (id, name, attributed_to, ciphersuite, epoch, public_state, group_info, last_sequence)
             values ($1, 'n', $2, 'cs', 0, '\\x00', '\\x00', 1)`,
            [id, attributedTo],
          );
          for (const [leaf, actor] of members.entries()) {
            await tx.query(
              "insert into channels.members (channel_id, leaf_index, actor_url, acct) values ($1, $2, $3, 'acct:x')",
              [id, leaf, actor],
            );
          }
          await tx.query(
            "insert into channels.log (channel_id, sequence, epoch, activity_id, activity) values ($1, 1, 0, $2, $3::jsonb)",
            [id, `${id}-create`, JSON.stringify({ type: "Create", actor: firstActor })],
          );
        });
      await insertChannel("attributed", alice, [alice, bob], alice);
      await insertChannel("unattributed", "", [bob, carol], bob);
      await insertChannel("embedded", "", [carol], { id: carol, type: "Person" });
      await insertChannel("left", alice, [bob], alice);

      await migrate(sql, channelSequencerMigrations);
      const owners = await sql.query<{ channel_id: string; actor_url: string; role: string }>(
        "select channel_id, actor_url, role from channels.roles order by channel_id",
      );
      expect(owners.rows).toEqual([
        { channel_id: "attributed", actor_url: alice, role: "owner" },
        { channel_id: "embedded", actor_url: carol, role: "owner" },
        { channel_id: "unattributed", actor_url: bob, role: "owner" },
      ]);
      expect((await store.channel("unattributed"))?.attributedTo).toBe(bob);
      expect((await store.channel("embedded"))?.attributedTo).toBe(carol);
      expect(Object.fromEntries((await store.roles("attributed")) ?? [])).toEqual({
        [alice]: "owner",
        [bob]: "member",
      });
      // The creator left before roles existed: nobody owns the channel.
      expect(Object.fromEntries((await store.roles("left")) ?? [])).toEqual({ [bob]: "member" });
    });

    it("stores roles, checks them under the row lock, and records removals for the grace period", async () => {
      const channelId = "roles";
      let activities = 0;
      const accept = (change: ChannelChange) => {
        activities += 1;
        return store.accept({
          channelId,
          activityId: `${channelId}-${activities}`,
          activity: { id: `${channelId}-${activities}` },
          change,
          deliveriesFor: () => [],
        });
      };
      const t0 = new Date("2030-01-01T12:00:00Z");
      const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
      let epoch = 0;
      const commitTo = (by: string, members: ChannelMember[], removedActors: string[], at: Date) => {
        const action = removedActors[0]
          ? ({ kind: "remove", object: removedActors[0] } as const)
          : ({ kind: "add", object: members.at(-1)?.actorUrl ?? "" } as const);
        return accept({
          kind: "commit",
          expectedEpoch: epoch,
          newEpoch: epoch + 1,
          publicState: Uint8Array.of(epoch + 1),
          groupInfo: Uint8Array.of(epoch + 1),
          members,
          permission: { submitter: by, action },
          removedActors,
          removedAt: at,
          forgetRemovalsBefore: new Date(at.getTime() - 600_000),
        });
      };
      const roles = async () => Object.fromEntries((await store.roles(channelId)) ?? []);
      const removedSince = async (since: Date) =>
        (await store.followersView(channelId, since))?.removed.map((removed) => [
          removed.actorUrl,
          removed.removedAt.toISOString(),
        ]);

      expect(
        await accept({
          kind: "create",
          name: "n",
          attributedTo: alice,
          ciphersuite: "cs",
          publicState: Uint8Array.of(0),
          groupInfo: Uint8Array.of(0),
          members: [member(0, alice)],
        }),
      ).toMatchObject({ kind: "accepted" });
      expect(await roles()).toEqual({ [alice]: "owner" });
      const all = [member(0, alice), member(1, bob), member(2, carol)];
      expect(await commitTo(alice, all, [], t0)).toMatchObject({ kind: "accepted", state: { epoch: 1 } });
      epoch = 1;
      expect(
        await accept({
          kind: "role",
          member: bob,
          role: "admin",
          permission: { submitter: alice, action: { kind: "setRole", member: bob, role: "admin" } },
        }),
      ).toMatchObject({ kind: "accepted", state: { sequence: 3, epoch: 1 } });
      expect(await roles()).toEqual({ [alice]: "owner", [bob]: "admin", [carol]: "member" });

      expect(
        await accept({
          kind: "role",
          member: carol,
          role: "admin",
          permission: { submitter: carol, action: { kind: "setRole", member: carol, role: "admin" } },
        }),
      ).toEqual({ kind: "conflict", detail: "only the channel's owner or an admin may change roles" });
      expect(await commitTo(bob, [member(1, bob), member(2, carol)], [alice], t0)).toEqual({
        kind: "conflict",
        detail: "an admin cannot remove the channel's owner",
      });
      const sequence = await backend.sql.query<{ last_sequence: number; epoch: number }>(
        "select last_sequence, epoch from channels.channels where id = $1",
        [channelId],
      );
      expect(sequence.rows).toEqual([{ last_sequence: 3, epoch: 1 }]);

      expect(await commitTo(alice, [member(0, alice), member(2, carol)], [bob], t0)).toMatchObject({
        kind: "accepted",
      });
      epoch = 2;
      expect(await roles()).toEqual({ [alice]: "owner", [carol]: "member" });
      // bob's admin role went with him: re-added, he would be a member.
      const roleRows = await backend.sql.query<{ actor_url: string }>(
        "select actor_url from channels.roles where channel_id = $1 order by actor_url",
        [channelId],
      );
      expect(roleRows.rows.map((row) => row.actor_url)).toEqual([alice]);
      expect(await removedSince(later(-1))).toEqual([[bob, t0.toISOString()]]);
      expect(await removedSince(later(1))).toEqual([]);

      // carol's removal 1000 s later prunes bob's, whose grace is over.
      expect(await commitTo(alice, [member(0, alice)], [carol], later(1000))).toMatchObject({
        kind: "accepted",
      });
      epoch = 3;
      expect(await removedSince(later(-1))).toEqual([[carol, later(1000).toISOString()]]);
      // Re-added, carol is a member and no longer a removed one.
      expect(await commitTo(alice, [member(0, alice), member(1, carol)], [], later(1001))).toMatchObject({
        kind: "accepted",
      });
      expect(await roles()).toEqual({ [alice]: "owner", [carol]: "member" });
      expect(await removedSince(later(-1))).toEqual([]);
      expect(await store.followersView("nope", t0)).toBeUndefined();
      expect(await store.roles("nope")).toBeUndefined();
    });
  });
}

storeSuite("channel store on PGlite", openPglite);
if (databaseUrl)
  storeSuite("channel store on PostgreSQL", () => openPostgres(databaseUrl, "channel_sequencer_test"));
