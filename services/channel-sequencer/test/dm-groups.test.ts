import { createHash, randomBytes } from "node:crypto";
import { type ClientState, commit, createGroupInfo, toWireObject } from "@mimi/mls";
import { createApp, createMetrics, readConfig, startServer } from "@mimi/service-kit";
import type { ChannelInboxItem } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dmDocumentFields } from "../src/sequencer/dm-document.js";
import {
  type ChannelSequencerContext,
  channelSequencerConfigSpec,
  channelSequencerRouter,
} from "../src/service.js";
import {
  A,
  activity,
  actors,
  addActivity,
  createChannelActivity,
  createTestContext,
  inboxItem,
  keyUpdateActivity,
  newGroup,
  removeActivity,
  TestChannel,
} from "./harness.js";

/** A group DM of alice and carol (a.test) and bob (b.test), hosted here since alice starts it. */
const P = ["acct:alice@a.test", "acct:bob@b.test", "acct:carol@a.test"];
const key = (participants: readonly string[]) =>
  createHash("sha256").update(participants.join("\n")).digest("base64url");

/** The DM group: its members' clients, and dave and erin, who are no participants. */
const world = new TestChannel();
const { channelId, url: G, submit, client, stateOf, deliverCommit, membership } = world;
/** A group erin made with the same id: she is no participant (kept apart from the DM's members). */
let erinsGroup: ClientState;

/** The answer the submitter got, Accept or Reject. */
async function answer(
  submitted: Record<string, unknown> & { id: string },
  via: ChannelInboxItem["via"] = "outbox",
) {
  const { published } = await submit(inboxItem(channelId, submitted, via));
  const found = published.find(
    (request) => request.activity.type === "Accept" || request.activity.type === "Reject",
  );
  if (!found) throw new Error("no answer");
  return { answer: found.activity, published };
}

async function dmCreate(
  by: string,
  object: Record<string, unknown>,
  state = stateOf("alice"),
): Promise<Record<string, unknown> & { id: string }> {
  return activity(by, G, {
    type: "Create",
    object: { type: "Service", id: G, ...object },
    "mimi:groupInfo": toWireObject(await createGroupInfo(state, world.cs)),
  });
}

async function snapshot() {
  const { epoch, followers } = await membership();
  return { epoch, followers, log: (await world.ctx.store.log(channelId, 0, 1000)).length };
}

/** The DM group's actor document as the routes of `context` serve it. */
async function fetchDocument(context: ChannelSequencerContext) {
  const app = createApp({
    logger: context.logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [channelSequencerRouter(context)],
  });
  const server = await startServer(app, { port: 0, host: "127.0.0.1", logger: context.logger });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/channels/${channelId}`);
    return { status: res.status, contentType: res.headers.get("content-type"), body: await res.text() };
  } finally {
    await server.close();
  }
}

// Only alice's group exists at first: the DM group's Create and Adds are what the tests submit.
beforeAll(async () => {
  await world.start();
  for (const name of ["alice", "carol", "erin", "bob", "dave"] as const) {
    await world.enrol(name, actors[name]);
  }
  client("alice").state = await newGroup(client("alice"), world.groupId, world.cs, world.validateCredential);
  erinsGroup = await newGroup(client("erin"), world.groupId, world.cs, world.validateCredential);
});

afterAll(() => world.close());

describe("a group DM's MLS group, sequenced like a channel", () => {
  it("refuses a DM Create whose participants or key do not hold together, before any MLS work", async () => {
    const cases: { object: Record<string, unknown>; reason: string }[] = [
      {
        object: {
          "mimi:kind": "dm",
          "mimi:participants": [P[1], P[0]],
          "mimi:conversation": key([P[1] ?? "", P[0] ?? ""]),
        },
        reason: "dmParticipantsInvalid",
      },
      {
        object: { "mimi:kind": "dm", "mimi:participants": [P[0]], "mimi:conversation": key([P[0] ?? ""]) },
        reason: "dmParticipantsInvalid",
      },
      {
        object: { "mimi:kind": "dm", "mimi:participants": P, "mimi:conversation": key(P.slice(1)) },
        reason: "dmConversationMismatch",
      },
      {
        object: { "mimi:kind": "dm", "mimi:participants": P, "mimi:conversation": key(P), name: "chat" },
        reason: "dmFixed",
      },
    ];
    for (const { object, reason } of cases) {
      const { answer: refused } = await answer(await dmCreate(actors.alice, object));
      expect(refused).toMatchObject({ type: "Reject", "mimi:reason": reason });
    }
    expect(await world.ctx.store.channel(channelId)).toBeUndefined();
  });

  it("refuses a DM Create listing more participants than the provider's setting allows", async () => {
    const settings = { ...readConfig(channelSequencerConfigSpec, {}), dmMaxParticipants: 2 };
    const limited = createTestContext({
      sql: world.sql,
      bus: world.bus,
      cas: world.cas,
      overrides: { settings },
    }).ctx;
    const create = await dmCreate(actors.alice, {
      "mimi:kind": "dm",
      "mimi:participants": P,
      "mimi:conversation": key(P),
    });
    const { published } = await submit(inboxItem(channelId, create, "outbox"), limited);
    const refused = published.find((request) => request.activity.type === "Reject")?.activity;
    expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmParticipantsInvalid" });
    expect(String(refused?.summary)).toContain("2 participants");
    expect(await world.ctx.store.channel(channelId)).toBeUndefined();
  });

  it("refuses a DM Create by someone who is not a participant", async () => {
    const create = await dmCreate(
      actors.erin,
      { "mimi:kind": "dm", "mimi:participants": P, "mimi:conversation": key(P) },
      erinsGroup,
    );
    const { answer: refused } = await answer(create);
    expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmParticipantsInvalid" });
    expect(String(refused.summary)).toContain("must include the creator acct:erin@a.test");
    expect(await world.ctx.store.channel(channelId)).toBeUndefined();
  });

  it("refuses a kind it does not know, with the channel's checks", async () => {
    const create = await dmCreate(actors.alice, { "mimi:kind": "room" });
    const { answer: refused } = await answer(create);
    expect(refused).toMatchObject({ type: "Reject" });
    expect(String(refused.summary)).toContain('mimi:kind must be "dm"');
  });

  it("creates the DM group with its creator alone, named by its conversation key", async () => {
    const create = await dmCreate(actors.alice, {
      "mimi:kind": "dm",
      "mimi:participants": P,
      "mimi:conversation": key(P),
    });
    const { answer: accepted } = await answer(create);
    expect(accepted).toMatchObject({ type: "Accept", "mimi:epoch": 0, "mimi:sequence": 1 });
    expect((await world.ctx.store.channel(channelId))?.name).toBe(key(P));
    expect(await snapshot()).toEqual({ epoch: 0, followers: [actors.alice], log: 1 });
  });

  it("describes the DM for its actor document, before every participant is in", async () => {
    const channel = await world.ctx.store.channel(channelId);
    if (!channel) throw new Error("no DM group");
    expect(await dmDocumentFields(world.ctx, channel)).toEqual({
      "mimi:kind": "dm",
      "mimi:conversation": key(P),
      "mimi:participants": P,
      "mimi:participantActors": {
        "acct:alice@a.test": actors.alice,
        "acct:bob@b.test": actors.bob,
        "acct:carol@a.test": actors.carol,
      },
    });
  });

  it("serves those fields in the DM group's actor document, where other providers read them", async () => {
    const res = await fetchDocument(world.ctx);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      id: G,
      "mimi:kind": "dm",
      "mimi:conversation": key(P),
      "mimi:participants": P,
    });
  });

  it("answers 503 for the DM group's document while a participant not yet in cannot be resolved", async () => {
    const unresolving = createTestContext({
      sql: world.sql,
      bus: world.bus,
      cas: world.cas,
      overrides: { resolveAcct: async () => undefined },
    }).ctx;
    const res = await fetchDocument(unresolving);
    expect(res.status).toBe(503);
    expect(res.contentType).toContain("application/problem+json");
  });

  it("adds each participant's device with the channel's Add, Welcome included", async () => {
    for (const name of ["bob", "carol"]) {
      const output = await commit(stateOf("alice"), world.cs, { add: [client(name).keyPackage] });
      const add = addActivity(actors.alice, G, client(name).actor, output);
      const { answer: accepted, published } = await answer(add);
      expect(accepted).toMatchObject({ type: "Accept" });
      const forward = published.find((request) => request.activityId === add.id);
      expect(forward?.audience).toContain(client(name).actor);
      expect(forward?.activity["mimi:welcome"]).toBeDefined();
      await deliverCommit("alice", output, [name]);
    }
    expect(await snapshot()).toEqual({
      epoch: 2,
      followers: [actors.alice, actors.bob, actors.carol].sort(),
      log: 3,
    });
  });

  it("refuses the Add of someone who is not a participant: a different set is a different conversation", async () => {
    const output = await commit(stateOf("alice"), world.cs, { add: [client("dave").keyPackage] });
    const { answer: refused } = await answer(addActivity(actors.alice, G, actors.dave, output));
    expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmNotParticipant" });
    expect(await snapshot()).toMatchObject({ epoch: 2, log: 3 });
  });

  it("refuses the Remove of a participant", async () => {
    const output = await commit(stateOf("alice"), world.cs, { remove: [1] });
    const remove = removeActivity(actors.alice, G, actors.bob, output);
    const { answer: refused } = await answer(remove);
    expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmParticipantRemoval" });
    expect(await snapshot()).toMatchObject({ epoch: 2, log: 3 });
  });

  it("takes no rename, role or Leave", async () => {
    const submissions = [
      activity(actors.alice, G, { type: "Update", object: { type: "Service", id: G, name: "ours" } }),
      activity(actors.alice, G, {
        type: "Update",
        object: { type: "mimi:Role", "mimi:member": actors.bob, "mimi:role": "admin" },
      }),
      activity(actors.bob, G, { type: "Leave", object: G }),
    ];
    for (const submitted of submissions) {
      const { answer: refused } = await answer(submitted, "inbox");
      expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmFixed" });
    }
    expect(await snapshot()).toMatchObject({ epoch: 2, log: 3 });
    expect((await world.ctx.store.channel(channelId))?.name).toBe(key(P));
  });

  it("orders a participant's key update like a channel's", async () => {
    const output = await commit(stateOf("bob"), world.cs);
    const update = keyUpdateActivity(actors.bob, G, output);
    const { answer: accepted } = await answer(update, "inbox");
    expect(accepted).toMatchObject({ type: "Accept", "mimi:epoch": 3 });
    await deliverCommit("bob", output);
    expect(await snapshot()).toMatchObject({ epoch: 3, log: 4 });
  });

  it("leaves ordinary channels alone: a channel named like a key is still renamed", async () => {
    const otherId = randomBytes(16);
    const other = `${A}/channels/${otherId.toString("base64url")}`;
    const state = await newGroup(client("alice"), otherId, world.cs, world.validateCredential);
    const create = await createChannelActivity(
      actors.alice,
      other,
      key(["acct:x@a.test", "acct:y@a.test"]),
      state,
      world.cs,
    );
    await submit(inboxItem(otherId.toString("base64url"), create));
    const stored = await world.ctx.store.channel(otherId.toString("base64url"));
    if (!stored) throw new Error("no channel");
    expect(await dmDocumentFields(world.ctx, stored)).toEqual({});
    const rename = activity(actors.alice, other, {
      type: "Update",
      object: { type: "Service", id: other, name: "n" },
    });
    const { published } = await submit(inboxItem(otherId.toString("base64url"), rename));
    expect(published.find((request) => request.activity.type === "Accept")).toBeDefined();
  });
});
