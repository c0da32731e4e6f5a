import { createHash, randomBytes } from "node:crypto";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  commit,
  createGroupInfo,
  loadCiphersuite,
  toWireObject,
  type ValidateCredential,
} from "@mimi/mls";
import { createApp, createMetrics, readConfig, startServer } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
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
  createTestCas,
  createTestContext,
  createTestDatabase,
  deliverToMembers,
  deliveryRequests,
  enrol,
  handleToSettled,
  inboxItem,
  memberClient,
  memberState,
  newGroup,
  recordingBus,
  type TestCas,
  type TestClient,
} from "./harness.js";

/** A group DM of alice and carol (a.test) and bob (b.test), hosted here since alice starts it. */
const P = ["acct:alice@a.test", "acct:bob@b.test", "acct:carol@a.test"];
const key = (participants: readonly string[]) =>
  createHash("sha256").update(participants.join("\n")).digest("base64url");

let sql: Sql;
let cas: TestCas;
let cs: CiphersuiteImpl;
let bus: ReturnType<typeof recordingBus>;
let ctx: ChannelSequencerContext;
let validateCredential: ValidateCredential;
const clients: Record<string, TestClient> = {};
/** A group erin made with the same id: she is no participant (kept apart from the DM's members). */
let erinsGroup: ClientState;

const groupId = randomBytes(16);
const channelId = groupId.toString("base64url");
const G = `${A}/channels/${channelId}`;

const client = (name: string) => memberClient(clients, name);
const stateOf = (name: string) => memberState(clients, name);
const deliverCommit = (committer: string, output: CommitOutput, joiners: string[] = []) =>
  deliverToMembers({ clients, cs, validateCredential }, committer, output, joiners);

async function handle(item: ChannelInboxItem) {
  const before = deliveryRequests(bus).length;
  const outcome = await handleToSettled(ctx, item);
  return { outcome, published: deliveryRequests(bus).slice(before) };
}

/** The answer the submitter got, Accept or Reject. */
async function answer(
  submitted: Record<string, unknown> & { id: string },
  via: ChannelInboxItem["via"] = "outbox",
) {
  const { published } = await handle(inboxItem(channelId, submitted, via));
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
    "mimi:groupInfo": toWireObject(await createGroupInfo(state, cs)),
  });
}

async function snapshot() {
  const channel = await ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    followers: await ctx.store.followers(channelId),
    log: (await ctx.store.log(channelId, 0, 1000)).length,
  };
}

beforeAll(async () => {
  [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
  bus = recordingBus();
  ctx = createTestContext({ sql, bus, cas }).ctx;
  validateCredential = async (credential, signatureKey) =>
    (await ctx.credentials.verify(credential, signatureKey)).ok;
  clients.alice = await enrol(cs, cas.a, "alice", actors.alice);
  clients.carol = await enrol(cs, cas.a, "carol", actors.carol);
  clients.erin = await enrol(cs, cas.a, "erin", actors.erin);
  clients.bob = await enrol(cs, cas.b, "bob", actors.bob);
  clients.dave = await enrol(cs, cas.b, "dave", actors.dave);
  client("alice").state = await newGroup(client("alice"), groupId, cs, validateCredential);
  erinsGroup = await newGroup(client("erin"), groupId, cs, validateCredential);
});

afterAll(async () => {
  await ctx.close();
  await bus.close();
  await sql.close();
});

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
    expect(await ctx.store.channel(channelId)).toBeUndefined();
  });

  it("refuses a DM Create listing more participants than the provider's setting allows", async () => {
    const settings = { ...readConfig(channelSequencerConfigSpec, {}), dmMaxParticipants: 2 };
    const limited = createTestContext({ sql, bus, cas, overrides: { settings } }).ctx;
    const create = await dmCreate(actors.alice, {
      "mimi:kind": "dm",
      "mimi:participants": P,
      "mimi:conversation": key(P),
    });
    const before = deliveryRequests(bus).length;
    await handleToSettled(limited, inboxItem(channelId, create, "outbox"));
    const refused = deliveryRequests(bus)
      .slice(before)
      .find((request) => request.activity.type === "Reject")?.activity;
    expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmParticipantsInvalid" });
    expect(String(refused?.summary)).toContain("2 participants");
    expect(await ctx.store.channel(channelId)).toBeUndefined();
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
    expect(await ctx.store.channel(channelId)).toBeUndefined();
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
    expect((await ctx.store.channel(channelId))?.name).toBe(key(P));
    expect(await snapshot()).toEqual({ epoch: 0, followers: [actors.alice], log: 1 });
  });

  it("describes the DM for its actor document, before every participant is in", async () => {
    const channel = await ctx.store.channel(channelId);
    if (!channel) throw new Error("no DM group");
    expect(await dmDocumentFields(ctx, channel)).toEqual({
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
    const app = createApp({
      logger: ctx.logger,
      metrics: createMetrics({ defaultMetrics: false }),
      routers: [channelSequencerRouter(ctx)],
    });
    const server = await startServer(app, { port: 0, host: "127.0.0.1", logger: ctx.logger });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/channels/${channelId}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        id: G,
        "mimi:kind": "dm",
        "mimi:conversation": key(P),
        "mimi:participants": P,
      });
    } finally {
      await server.close();
    }
  });

  it("answers 503 for the DM group's document while a participant not yet in cannot be resolved", async () => {
    const unresolving = createTestContext({
      sql,
      bus,
      cas,
      overrides: { resolveAcct: async () => undefined },
    }).ctx;
    const app = createApp({
      logger: unresolving.logger,
      metrics: createMetrics({ defaultMetrics: false }),
      routers: [channelSequencerRouter(unresolving)],
    });
    const server = await startServer(app, { port: 0, host: "127.0.0.1", logger: unresolving.logger });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/channels/${channelId}`);
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    } finally {
      await server.close();
    }
  });

  it("adds each participant's device with the channel's Add, Welcome included", async () => {
    for (const name of ["bob", "carol"]) {
      const output = await commit(stateOf("alice"), cs, { add: [client(name).keyPackage] });
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
    const output = await commit(stateOf("alice"), cs, { add: [client("dave").keyPackage] });
    const { answer: refused } = await answer(addActivity(actors.alice, G, actors.dave, output));
    expect(refused).toMatchObject({ type: "Reject", "mimi:reason": "dmNotParticipant" });
    expect(await snapshot()).toMatchObject({ epoch: 2, log: 3 });
  });

  it("refuses the Remove of a participant", async () => {
    const output = await commit(stateOf("alice"), cs, { remove: [1] });
    const remove = activity(actors.alice, G, {
      type: "Remove",
      object: actors.bob,
      "mimi:commit": toWireObject(output.commit),
      "mimi:groupInfo": toWireObject(output.groupInfo),
    });
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
    expect((await ctx.store.channel(channelId))?.name).toBe(key(P));
  });

  it("orders a participant's key update like a channel's", async () => {
    const output = await commit(stateOf("bob"), cs);
    const update = activity(actors.bob, G, {
      type: "Update",
      object: { type: "mimi:KeyUpdate", "mimi:member": actors.bob },
      "mimi:commit": toWireObject(output.commit),
      "mimi:groupInfo": toWireObject(output.groupInfo),
    });
    const { answer: accepted } = await answer(update, "inbox");
    expect(accepted).toMatchObject({ type: "Accept", "mimi:epoch": 3 });
    await deliverCommit("bob", output);
    expect(await snapshot()).toMatchObject({ epoch: 3, log: 4 });
  });

  it("leaves ordinary channels alone: a channel named like a key is still renamed", async () => {
    const otherId = randomBytes(16);
    const other = `${A}/channels/${otherId.toString("base64url")}`;
    const state = await newGroup(client("alice"), otherId, cs, validateCredential);
    const create = activity(actors.alice, other, {
      type: "Create",
      object: { type: "Service", id: other, name: key(["acct:x@a.test", "acct:y@a.test"]) },
      "mimi:groupInfo": toWireObject(await createGroupInfo(state, cs)),
    });
    await handle(inboxItem(otherId.toString("base64url"), create));
    const stored = await ctx.store.channel(otherId.toString("base64url"));
    if (!stored) throw new Error("no channel");
    expect(await dmDocumentFields(ctx, stored)).toEqual({});
    const rename = activity(actors.alice, other, {
      type: "Update",
      object: { type: "Service", id: other, name: "n" },
    });
    const { published } = await handle(inboxItem(otherId.toString("base64url"), rename));
    expect(published.find((request) => request.activity.type === "Accept")).toBeDefined();
  });
});
