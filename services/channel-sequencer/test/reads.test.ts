import { providerUrls } from "@mimi/activitypub";
import { createPgliteSql, migrate, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  channelExists,
  channelFollowers,
  isChannelFollower,
  localCollectionFollowers,
} from "../src/reads.js";
import { channelSequencerMigrations } from "../src/service.js";

/** The reads other services use, against the sequencer's migrated schema. */
const urls = providerUrls("a.test", "http://a.test");
const room = "qhGQLWG0CdMI3fPJ2DyfQQ";
const empty = "AAAAAAAAAAAAAAAAAAAAAA";
const bob = "https://b.example/users/bob";
const alice = "http://a.test/users/alice";

let sql: Sql;
beforeAll(async () => {
  sql = await createPgliteSql();
  await migrate(sql, channelSequencerMigrations);
  for (const id of [room, empty]) {
    await sql.query(
      `insert into channels.channels (id, name, attributed_to, ciphersuite, epoch, public_state, group_info, last_sequence)
       values ($1, 'room', $2, 'suite', 0, '\\x00', '\\x00', 0)`,
      [id, alice],
    );
  }
  // Two leaves of bob (two devices) and one of alice: bob follows once.
  for (const [leaf, actor] of [
    [0, bob],
    [1, alice],
    [2, bob],
  ] as const) {
    await sql.query(
      "insert into channels.members (channel_id, leaf_index, actor_url, acct) values ($1, $2, $3, 'acct:x@y')",
      [room, leaf, actor],
    );
  }
});
afterAll(() => sql.close());

describe("channel reads", () => {
  it("tells whether a channel exists", async () => {
    expect(await channelExists(sql, room)).toBe(true);
    expect(await channelExists(sql, "nope")).toBe(false);
  });

  it("lists a channel's followers once each, sorted; none for an unknown channel", async () => {
    expect(await channelFollowers(sql, room)).toEqual([alice, bob].sort());
    expect(await channelFollowers(sql, empty)).toEqual([]);
    expect(await channelFollowers(sql, "nope")).toBeUndefined();
    expect(await isChannelFollower(sql, room, bob)).toBe(true);
    expect(await isChannelFollower(sql, empty, bob)).toBe(false);
  });

  it("answers for local followers collections only", async () => {
    expect(await localCollectionFollowers(sql, urls, urls.channelFollowers(room))).toEqual(
      [alice, bob].sort(),
    );
    expect(await localCollectionFollowers(sql, urls, urls.channel(room))).toBeUndefined();
    expect(await localCollectionFollowers(sql, urls, urls.channelFollowers("nope"))).toBeUndefined();
    expect(
      await localCollectionFollowers(sql, urls, `https://b.example/channels/${room}/followers`),
    ).toBeUndefined();
  });
});
