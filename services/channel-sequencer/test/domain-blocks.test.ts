import { commit } from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockedAddRefusal } from "../src/domain/blocks.js";
import { actors, addActivity, answerOf, inboxItem, TestChannel } from "./harness.js";

/** The channel's server refuses to add a user of a domain its operator blocked, before any MLS work. */
const world = new TestChannel();
const { channelId, url: C, handle } = world;

beforeAll(async () => {
  await world.start({
    seed: (sql) =>
      sql.query("insert into identity.blocked_domains (domain, source) values ('evil.test', 'config')"),
  });
  await world.enrol("alice", actors.alice);
  await world.enrol("bob", actors.bob);
  await world.create("guarded");
});

afterAll(() => world.close());

async function addOf(object: string) {
  const output = await commit(world.stateOf("alice"), world.cs, { add: [world.client("bob").keyPackage] });
  return addActivity(actors.alice, C, object, output);
}

describe("Adds and domain blocks", () => {
  it("rejects the Add of a blocked domain's user, subdomains too, with mimi:reason domainBlocked", async () => {
    for (const object of ["http://evil.test/users/eve", "https://x.evil.test:8443/users/imp"]) {
      const add = await addOf(object);
      const reject = answerOf(await handle(inboxItem(channelId, add)), "Reject");
      expect(reject.activity).toMatchObject({
        object: add.id,
        "mimi:reason": "domainBlocked",
        "mimi:currentEpoch": 0,
      });
      expect(String(reject.activity.summary)).toMatch(/does not federate with .*evil\.test/);
    }
    expect(await world.ctx.store.followers(channelId)).toEqual([actors.alice]);
  });

  it("still adds users of other domains", async () => {
    answerOf(await handle(inboxItem(channelId, await addOf(actors.bob))), "Accept");
    expect(await world.ctx.store.followers(channelId)).toContain(actors.bob);
  });

  it("leaves unparsable objects to the other checks", () => {
    expect(blockedAddRefusal("not a url", new Set(["evil.test"]))).toBeUndefined();
    expect(blockedAddRefusal("http://notevil.test/users/x", new Set(["evil.test"]))).toBeUndefined();
  });
});
