import { waitUntil } from "@mimi/bus/contract";
import {
  type ClientState,
  type CommitOutput,
  commit,
  encryptApplicationMessage,
  publicRoster,
  toWireObject,
} from "@mimi/mls";
import { type ChannelInboxItem, channelInboxTopic, deliveryRequestsTopic } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelExists, isChannelFollower, localCollectionFollowers } from "../src/reads.js";
import {
  type ChannelSequencerContext,
  type ChannelStore,
  createChannelStore,
  followersOf,
  startChannelSequencerWorkers,
} from "../src/service.js";
import {
  A,
  acctTable,
  activity,
  actors,
  addActivity as addMemberActivity,
  answerOf,
  createChannelActivity,
  createTestContext,
  deliveryRequests,
  enrol,
  handleToSettled,
  inboxItem,
  newGroup,
  removeActivity as removeMemberActivity,
  TestChannel,
} from "./harness.js";

const world = new TestChannel();
const { channelId, url: C, submit: handle, client, stateOf, deliverCommit } = world;

/** `handle` through another context (another replica of the service, with its own store). */
const handleReplica = (replica: ChannelSequencerContext, item: ChannelInboxItem) =>
  world.submit(item, replica);

async function snapshot() {
  const channel = await world.ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    lastSequence: channel?.lastSequence,
    followers: await world.ctx.store.followers(channelId),
    log: (await world.ctx.store.log(channelId, 0, 1000)).map((entry) => entry.activity.id),
  };
}

/** Invariant 2: followers == the actors whose clients are in the stored public roster. */
async function expectFollowersMatchRoster() {
  const channel = await world.ctx.store.channelState(channelId);
  if (!channel) throw new Error("no channel");
  const rosterActors = new Set<string>();
  for (const member of publicRoster(channel.publicState)) {
    const identified = await world.ctx.credentials.identify(member.credential);
    if (!identified.ok) throw new Error(identified.detail);
    const actor = acctTable[identified.acct];
    if (!actor) throw new Error(`unknown acct ${identified.acct}`);
    rosterActors.add(actor);
  }
  const expected = [...rosterActors].sort();
  expect(await world.ctx.store.followers(channelId)).toEqual(expected);
  expect(followersOf(channel.members)).toEqual(expected);
  expect(await localCollectionFollowers(world.sql, world.ctx.urls, `${C}/followers`)).toEqual(expected);
  expect(channel.epoch).toBe(Number(channel.publicState.epoch));
}

function addActivity(by: string, object: string, output: CommitOutput) {
  return addMemberActivity(by, C, object, output);
}

function roleActivity(by: string, member: string, role: string) {
  return activity(by, C, {
    type: "Update",
    object: { type: "mimi:Role", "mimi:member": member, "mimi:role": role },
  });
}

/** The stored roles as `mimi:roles` shows them. */
async function roles(): Promise<Record<string, string>> {
  return Object.fromEntries((await world.ctx.store.roles(channelId)) ?? []);
}

/** Rows of a table of this channel (to see that nothing stale is left behind). */
async function rowsOf(table: "roles" | "removed_members"): Promise<string[]> {
  const result = await world.sql.query<{ actor_url: string }>(
    `select actor_url from channels.${table} where channel_id = $1 order by actor_url`,
    [channelId],
  );
  return result.rows.map((row) => row.actor_url);
}

function removeActivity(by: string, object: string, output: CommitOutput) {
  return removeMemberActivity(by, C, object, output);
}

async function messageActivity(by: string, state: ClientState, text: string) {
  const sent = await encryptApplicationMessage(state, world.cs, new TextEncoder().encode(text));
  return {
    activity: activity(by, C, { type: "Create", object: toWireObject(sent.message) }),
    newState: sent.newState,
  };
}

function leafOf(name: string): number {
  const state = stateOf("alice");
  const target = client(name);
  const index = state.ratchetTree.findIndex(
    (node) =>
      node?.nodeType === "leaf" &&
      Buffer.from(node.leaf.signaturePublicKey).equals(Buffer.from(target.keys.publicKey)),
  );
  if (index < 0) throw new Error(`${name} has no leaf`);
  return index / 2;
}

beforeAll(async () => {
  await world.start();
  for (const name of ["alice", "carol", "erin", "bob", "dave"] as const)
    await world.enrol(name, actors[name]);
  const alice = client("alice");
  alice.state = await newGroup(alice, world.groupId, world.cs, world.validateCredential);
});

afterAll(() => world.close());

describe("channel sequencing with real MLS groups and x509 credentials", () => {
  let bobsKeyPackageUsed = false;
  let aliceAtEpoch1: ClientState | undefined;
  let bobBeforeRemoval: ClientState | undefined;

  it("refuses a Create whose GroupInfo names someone else than the submitter, answering as the instance actor", async () => {
    const create = await createChannelActivity(actors.erin, C, "stolen", stateOf("alice"), world.cs);
    const { outcome, published } = await handle(inboxItem(channelId, create));
    expect(outcome).toEqual({ kind: "ok" });
    expect(published).toHaveLength(1);
    const reject = answerOf(published, "Reject");
    expect(reject.activity).toMatchObject({ actor: `${A}/actor`, object: create.id, to: [actors.erin] });
    expect(reject.activity.summary).toContain("does not name");
    expect(reject.signAs).toBe(`${A}/actor`);
    expect(await world.ctx.store.channel(channelId)).toBeUndefined();
  });

  it("refuses a Create from a remote actor or through an inbox", async () => {
    const fromRemote = await createChannelActivity(actors.bob, C, "x", stateOf("alice"), world.cs);
    const remote = await handle(inboxItem(channelId, fromRemote, "inbox"));
    expect(answerOf(remote.published, "Reject").activity.summary).toContain("through their outbox");
    expect(await world.ctx.store.channel(channelId)).toBeUndefined();
  });

  it("creates the channel: Accept with epoch 0 and sequence 1, log entry, followers = {creator}, channel key", async () => {
    const create = await createChannelActivity(actors.alice, C, "general", stateOf("alice"), world.cs);
    const { outcome, published } = await handle(inboxItem(channelId, create));
    expect(outcome).toEqual({ kind: "ok" });
    const accept = answerOf(published, "Accept");
    expect(accept.activity).toMatchObject({
      type: "Accept",
      actor: C,
      object: create.id,
      "mimi:epoch": 0,
      "mimi:sequence": 1,
      to: [actors.alice],
    });
    expect(String(accept.activity.id)).toMatch(new RegExp(`^${C}/activities/[0-9a-f-]{36}$`));
    expect(accept.signAs).toBe(C);
    const forward = published.find((request) => request.activityId === create.id);
    expect(forward).toMatchObject({
      activity: { ...create, "mimi:sequence": 1 },
      signAs: C,
      audience: [actors.alice],
    });
    expect(await roles()).toEqual({ [actors.alice]: "owner" });
    expect(await snapshot()).toEqual({
      epoch: 0,
      lastSequence: 1,
      followers: [actors.alice],
      log: [create.id],
    });
    expect(await world.ctx.actorKeys.signingKey(C)).toBeDefined();
    expect(await channelExists(world.sql, channelId)).toBe(true);
    await expectFollowersMatchRoster();
  });

  it("adds bob: followers, Accept, and the Add forwarded with its sequence to the members including bob", async () => {
    const output = await commit(stateOf("alice"), world.cs, { add: [client("bob").keyPackage] });
    const add = addActivity(actors.alice, actors.bob, output);
    const { published } = await handle(inboxItem(channelId, add));
    expect(answerOf(published, "Accept").activity).toMatchObject({
      "mimi:epoch": 1,
      "mimi:sequence": 2,
      to: [actors.alice],
    });
    const forward = published.find((request) => request.activityId === add.id);
    expect(forward?.activity).toEqual({ ...add, "mimi:sequence": 2 });
    expect(forward?.signAs).toBe(C);
    expect(await roles()).toEqual({ [actors.alice]: "owner", [actors.bob]: "member" });
    expect(forward?.audience.sort()).toEqual([actors.alice, actors.bob].sort());
    expect(await snapshot()).toMatchObject({
      epoch: 1,
      lastSequence: 2,
      followers: [actors.alice, actors.bob].sort(),
    });
    expect(await isChannelFollower(world.sql, channelId, actors.bob)).toBe(true);
    await deliverCommit("alice", output, ["bob"]);
    bobsKeyPackageUsed = true;
    aliceAtEpoch1 = stateOf("alice");
    await expectFollowersMatchRoster();
  });

  it("the owner makes bob an admin: logged, forwarded with its sequence to the followers, Accepted", async () => {
    const before = await snapshot();
    const promote = roleActivity(actors.alice, actors.bob, "admin");
    const { published } = await handle(inboxItem(channelId, promote));
    const sequence = (before.lastSequence ?? 0) + 1;
    expect(answerOf(published, "Accept").activity).toMatchObject({
      object: promote.id,
      "mimi:epoch": before.epoch,
      "mimi:sequence": sequence,
    });
    const forward = published.find((request) => request.activityId === promote.id);
    expect(forward).toMatchObject({ activity: { ...promote, "mimi:sequence": sequence }, signAs: C });
    expect(forward?.audience).toEqual(before.followers);
    expect(await roles()).toEqual({ [actors.alice]: "owner", [actors.bob]: "admin" });
    expect(await snapshot()).toEqual({
      ...before,
      lastSequence: sequence,
      log: [...before.log, promote.id],
    });
  });

  it("of two commits made on the same epoch, accepts the first and rejects the second with currentEpoch", async () => {
    expect(bobsKeyPackageUsed).toBe(true);
    const first = await commit(stateOf("alice"), world.cs, { add: [client("carol").keyPackage] });
    const second = await commit(stateOf("bob"), world.cs, { add: [client("dave").keyPackage] });
    const firstResult = await handle(inboxItem(channelId, addActivity(actors.alice, actors.carol, first)));
    expect(answerOf(firstResult.published, "Accept").activity["mimi:epoch"]).toBe(2);
    await deliverCommit("alice", first, ["carol"]);
    const before = await snapshot();
    const secondAdd = addActivity(actors.bob, actors.dave, second);
    const secondResult = await handle(inboxItem(channelId, secondAdd));
    expect(secondResult.published).toHaveLength(1);
    const reject = answerOf(secondResult.published, "Reject");
    expect(reject.activity).toMatchObject({
      actor: C,
      object: secondAdd.id,
      "mimi:currentEpoch": 2,
      to: [actors.bob],
    });
    expect(reject.activity.summary).toContain("epoch 1");
    expect(await snapshot()).toEqual(before);
    await expectFollowersMatchRoster();
  });

  it("refuses what a member's role does not allow, with a Reject saying why, and nothing moves", async () => {
    // carol joined in the previous step as a member; bob is an admin, alice the owner.
    expect(await roles()).toEqual({
      [actors.alice]: "owner",
      [actors.bob]: "admin",
      [actors.carol]: "member",
    });
    const before = await snapshot();
    const refusals: [Record<string, unknown> & { id: string }, string][] = [
      [
        addActivity(
          actors.carol,
          actors.dave,
          await commit(stateOf("carol"), world.cs, { add: [client("dave").keyPackage] }),
        ),
        "only the channel's owner or an admin may add members",
      ],
      [
        removeActivity(
          actors.carol,
          actors.bob,
          await commit(stateOf("carol"), world.cs, { remove: [leafOf("bob")] }),
        ),
        "only the channel's owner or an admin may remove other members",
      ],
      [
        removeActivity(
          actors.bob,
          actors.alice,
          await commit(stateOf("bob"), world.cs, { remove: [leafOf("alice")] }),
        ),
        "an admin cannot remove the channel's owner",
      ],
      [
        activity(actors.carol, C, { type: "Update", object: { type: "Service", id: C, name: "mine" } }),
        "only the channel's owner or an admin may rename the channel",
      ],
      [
        roleActivity(actors.carol, actors.carol, "admin"),
        "only the channel's owner or an admin may change roles",
      ],
      [roleActivity(actors.bob, actors.alice, "member"), "the channel owner's role cannot be changed"],
      [roleActivity(actors.alice, actors.alice, "admin"), "the channel owner's role cannot be changed"],
      [
        roleActivity(actors.alice, actors.erin, "admin"),
        `${actors.erin} is not a member of the channel; only members can get a role`,
      ],
      [roleActivity(actors.alice, actors.carol, "owner"), 'mimi:role must be "admin" or "member"'],
    ];
    // The role rule comes before any MLS work: a refused commit costs no credential check.
    let credentialChecks = 0;
    const counting: ChannelSequencerContext = {
      ...world.ctx,
      credentials: {
        verify: (...args) => {
          credentialChecks += 1;
          return world.ctx.credentials.verify(...args);
        },
        identify: (...args) => {
          credentialChecks += 1;
          return world.ctx.credentials.identify(...args);
        },
      },
    };
    for (const [submitted, summary] of refusals) {
      const { published } = await handleReplica(counting, inboxItem(channelId, submitted));
      expect(published).toHaveLength(1);
      expect(answerOf(published, "Reject").activity).toMatchObject({
        object: submitted.id,
        "mimi:currentEpoch": before.epoch,
        summary,
        to: [submitted.actor],
      });
    }
    expect(credentialChecks).toBe(0);
    expect(await snapshot()).toEqual(before);
    expect(await roles()).toEqual({
      [actors.alice]: "owner",
      [actors.bob]: "admin",
      [actors.carol]: "member",
    });
  });

  it("lets a member remove themself as far as roles go (the commit is checked as for any Remove)", async () => {
    // A member cannot commit their own removal in MLS; a commit by someone else is refused for that
    // reason, after the role rule let it through.
    const byAlice = await commit(stateOf("alice"), world.cs, { remove: [leafOf("carol")] });
    const { published } = await handle(
      inboxItem(channelId, removeActivity(actors.carol, actors.carol, byAlice)),
    );
    expect(answerOf(published, "Reject").activity.summary).toContain(`not of the submitter ${actors.carol}`);
  });

  it("checks the role again when the change is stored: an admin demoted meanwhile is refused", async () => {
    const before = await snapshot();
    let demoted = false;
    const store: ChannelStore = {
      ...world.ctx.store,
      async accept(input) {
        if (!demoted) {
          demoted = true;
          answerOf(
            (await handle(inboxItem(channelId, roleActivity(actors.alice, actors.bob, "member")))).published,
            "Accept",
          );
        }
        return world.ctx.store.accept(input);
      },
    };
    const byBob = await commit(stateOf("bob"), world.cs, { add: [client("dave").keyPackage] });
    const bobAdd = addActivity(actors.bob, actors.dave, byBob);
    const published = (await handleReplica({ ...world.ctx, store }, inboxItem(channelId, bobAdd))).published;
    expect(answerOf(published, "Reject").activity).toMatchObject({
      object: bobAdd.id,
      summary: "only the channel's owner or an admin may add members",
      "mimi:currentEpoch": before.epoch,
    });
    expect((await snapshot()).epoch).toBe(before.epoch);
    expect((await snapshot()).log).not.toContain(bobAdd.id);
    expect(await roles()).toMatchObject({ [actors.bob]: "member" });
    for (const [member, role] of [
      [actors.bob, "admin"],
      [actors.carol, "admin"],
    ] as const) {
      answerOf(
        (await handle(inboxItem(channelId, roleActivity(actors.alice, member, role)))).published,
        "Accept",
      );
    }
  });

  it("rejects a stale commit (from an older state) and nothing moves", async () => {
    if (!aliceAtEpoch1) throw new Error("no old state");
    const stale = await commit(aliceAtEpoch1, world.cs, { add: [client("dave").keyPackage] });
    const before = await snapshot();
    const { published } = await handle(inboxItem(channelId, addActivity(actors.alice, actors.dave, stale)));
    expect(published.map((request) => request.activity.type)).toEqual(["Reject"]);
    expect(published[0]?.activity["mimi:currentEpoch"]).toBe(2);
    expect(await snapshot()).toEqual(before);
  });

  it("accepts exactly one of two commits for one epoch handled concurrently (the conditional update decides)", async () => {
    // Both handlers verify against epoch 2 before either transaction runs.
    let arrived = 0;
    let release: () => void = () => {};
    const bothVerified = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store: ChannelStore = {
      ...world.ctx.store,
      async accept(input) {
        arrived += 1;
        if (arrived === 2) release();
        await bothVerified;
        return world.ctx.store.accept(input);
      },
    };
    const racing = { ...world.ctx, store };
    const byAlice = await commit(stateOf("alice"), world.cs, { add: [client("dave").keyPackage] });
    const byCarol = await commit(stateOf("carol"), world.cs, { add: [client("erin").keyPackage] });
    const aliceAdd = addActivity(actors.alice, actors.dave, byAlice);
    const carolAdd = addActivity(actors.carol, actors.erin, byCarol);
    const before = deliveryRequests(world.bus).length;
    const outcomes = await Promise.all([
      handleToSettled(racing, inboxItem(channelId, aliceAdd)),
      handleToSettled(racing, inboxItem(channelId, carolAdd)),
    ]);
    expect(outcomes).toEqual([{ kind: "ok" }, { kind: "ok" }]);
    const published = deliveryRequests(world.bus).slice(before);
    const accepts = published.filter((request) => request.activity.type === "Accept");
    const rejects = published.filter((request) => request.activity.type === "Reject");
    expect(accepts).toHaveLength(1);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]?.activity.summary).toContain("another commit was accepted for epoch 2");
    expect(rejects[0]?.activity["mimi:currentEpoch"]).toBe(3);
    const aliceWon = accepts[0]?.activity.object === aliceAdd.id;
    if (aliceWon) await deliverCommit("alice", byAlice, ["dave"]);
    else await deliverCommit("carol", byCarol, ["erin"]);
    const state = await snapshot();
    expect(state.epoch).toBe(3);
    expect(state.log).toContain(aliceWon ? aliceAdd.id : carolAdd.id);
    expect(state.log).not.toContain(aliceWon ? carolAdd.id : aliceAdd.id);
    await expectFollowersMatchRoster();
    // The rest of the scenario needs erin outside the group: remove her if she won.
    if (!aliceWon) {
      const output = await commit(stateOf("alice"), world.cs, { remove: [leafOf("erin")] });
      const removal = await handle(inboxItem(channelId, removeActivity(actors.alice, actors.erin, output)));
      answerOf(removal.published, "Accept");
      await deliverCommit("alice", output);
      await expectFollowersMatchRoster();
    }
  });

  it("rejects an Add whose KeyPackage credential names another actor than object", async () => {
    const impostor = await enrol(world.cs, world.cas.a, "erin", actors.erin);
    const output = await commit(stateOf("alice"), world.cs, { add: [impostor.keyPackage] });
    const before = await snapshot();
    const { published } = await handle(inboxItem(channelId, addActivity(actors.alice, actors.bob, output)));
    const reject = answerOf(published, "Reject");
    expect(reject.activity.summary).toContain(`names ${actors.erin}, not ${actors.bob}`);
    expect(published).toHaveLength(1);
    expect(await snapshot()).toEqual(before);
    await expectFollowersMatchRoster();
  });

  it("rejects a message from a non-member and does not forward it", async () => {
    const { activity: message } = await messageActivity(actors.erin, stateOf("alice"), "not yours");
    const before = await snapshot();
    const { published } = await handle(inboxItem(channelId, message, "outbox"));
    expect(published.map((request) => request.activity.type)).toEqual(["Reject"]);
    expect(published[0]?.activity.summary).toContain("is not a member");
    expect(published.some((request) => request.activityId === message.id)).toBe(false);
    expect(await snapshot()).toEqual(before);
  });

  it("forwards a member's message to the followers, signed by the channel, after a log entry", async () => {
    const sent = await messageActivity(actors.bob, stateOf("bob"), "hello");
    client("bob").state = sent.newState;
    const before = await snapshot();
    const { published } = await handle(inboxItem(channelId, sent.activity, "channelInbox"));
    const forward = published.find((request) => request.activityId === sent.activity.id);
    const sequence = (before.lastSequence ?? 0) + 1;
    expect(forward?.activity).toEqual({ ...sent.activity, "mimi:sequence": sequence });
    expect(forward?.audience).toEqual(before.followers);
    expect((await world.ctx.store.log(channelId, sequence - 1, 1)).map((entry) => entry.sequence)).toEqual([
      sequence,
    ]);
    expect(answerOf(published, "Accept").activity).toMatchObject({
      "mimi:epoch": before.epoch,
      "mimi:sequence": (before.lastSequence ?? 0) + 1,
      to: [actors.bob],
    });
    expect((await snapshot()).log.at(-1)).toBe(sent.activity.id);
    // Keyed by the channel: one channel's forwards share a partition and reach fan-out in order.
    const records = world.bus.published
      .filter((batch) => batch.topic === deliveryRequestsTopic.name)
      .flatMap((batch) => batch.messages);
    const forwardRecord = records.find((record) => {
      const parsed = deliveryRequestsTopic.parse(record);
      return parsed.ok && parsed.value.activityId === sent.activity.id;
    });
    expect(forward?.signAs).toBe(`http://a.test/channels/${channelId}`);
    expect(forwardRecord?.key).toBe(forward?.signAs);
  });

  it("takes a member's message without target at the channel's inbox as the channel's, and forwards it with one", async () => {
    const sent = await messageActivity(actors.bob, stateOf("bob"), "no target");
    client("bob").state = sent.newState;
    const { target: _omitted, to: _unaddressed, ...received } = sent.activity;
    const before = await snapshot();
    const { published } = await handle(inboxItem(channelId, received, "channelInbox"));
    const sequence = (before.lastSequence ?? 0) + 1;
    const completed = { ...received, target: C, to: [`${C}/followers`] };
    const forward = published.find((request) => request.activityId === received.id);
    expect(forward?.activity).toEqual({ ...completed, "mimi:sequence": sequence });
    expect(answerOf(published, "Accept").activity).toMatchObject({ "mimi:sequence": sequence });
    const [logged] = await world.ctx.store.log(channelId, sequence - 1, 1);
    expect(logged?.activity).toEqual(completed);
  });

  it("still refuses a missing target at the shared inbox, another channel's target, and a rename without target", async () => {
    const withoutTarget = async () => {
      const sent = await messageActivity(actors.bob, stateOf("bob"), "refused");
      client("bob").state = sent.newState;
      const { target: _omitted, ...received } = sent.activity;
      return received;
    };
    const otherChannel = { ...(await withoutTarget()), target: `${A}/channels/another` };
    const { target: _omitted, ...rename } = activity(actors.alice, C, {
      type: "Update",
      object: { type: "Service", id: C, name: "renamed without target" },
    });
    const refused = [
      inboxItem(channelId, await withoutTarget(), "sharedInbox"),
      inboxItem(channelId, await withoutTarget(), "outbox"),
      inboxItem(channelId, otherChannel, "channelInbox"),
      inboxItem(channelId, rename, "channelInbox"),
    ];
    const before = await snapshot();
    for (const item of refused) {
      const { published } = await handle(item);
      expect(published.map((request) => request.activity.type)).toEqual(["Reject"]);
      expect(published[0]?.activity.summary).toBe(`the activity's target must be ${C}`);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("rejects a message over the size limit, and a member's messages past their rate, before any MLS work", async () => {
    const limited = createTestContext({
      sql: world.sql,
      bus: world.bus,
      cas: world.cas,
      overrides: {
        settings: { ...world.ctx.settings, maxMessageBytes: 1_024, messageBurst: 2, messagesPerMinute: 1 },
      },
    }).ctx;
    const send = async (text: string) => {
      const sent = await messageActivity(actors.bob, stateOf("bob"), text);
      client("bob").state = sent.newState;
      const { published } = await handleReplica(limited, inboxItem(channelId, sent.activity, "channelInbox"));
      return { id: sent.activity.id, published };
    };
    const before = await snapshot();
    const large = await send("x".repeat(4_000));
    expect(answerOf(large.published, "Reject").activity.summary).toMatch(
      /^the message is \d+ bytes, larger than the channel accepts \(1024\)$/,
    );
    expect(large.published.some((request) => request.activityId === large.id)).toBe(false);
    // The refused one took nothing from bob's allowance: two go through, the third is too fast.
    const first = await send("one");
    const second = await send("two");
    expect(answerOf(first.published, "Accept")).toBeDefined();
    expect(answerOf(second.published, "Accept")).toBeDefined();
    const third = await send("three");
    expect(answerOf(third.published, "Reject").activity.summary).toBe(
      `${actors.bob} sends messages faster than the channel accepts (1 per minute, 2 at once); send again in 60 s`,
    );
    expect(third.published.some((request) => request.activityId === third.id)).toBe(false);
    expect((await snapshot()).log).toEqual([...before.log, first.id, second.id]);
  });

  it("removes bob: the Remove also reaches bob, followers drop him", async () => {
    bobBeforeRemoval = stateOf("bob");
    const output = await commit(stateOf("alice"), world.cs, { remove: [leafOf("bob")] });
    const remove = removeActivity(actors.alice, actors.bob, output);
    const { published } = await handle(inboxItem(channelId, remove));
    answerOf(published, "Accept");
    const forward = published.find((request) => request.activityId === remove.id);
    expect(forward?.audience).toContain(actors.bob);
    const state = await snapshot();
    expect(state.followers).not.toContain(actors.bob);
    expect(forward?.audience.sort()).toEqual([...(state.followers ?? []), actors.bob].sort());
    // bob was an admin: his role went with his membership; his removal is noted for his server.
    expect(await roles()).not.toHaveProperty(actors.bob);
    expect(await rowsOf("roles")).not.toContain(actors.bob);
    expect(await rowsOf("removed_members")).toContain(actors.bob);
    await deliverCommit("alice", output);
    await expectFollowersMatchRoster();
  });

  it("rejects a Remove that leaves some of the object's clients, and one of a non-member", async () => {
    const output = await commit(stateOf("alice"), world.cs, { remove: [leafOf("carol")] });
    const wrongObject = await handle(inboxItem(channelId, removeActivity(actors.alice, actors.dave, output)));
    expect(answerOf(wrongObject.published, "Reject").activity.summary).toContain("not only of");
    const fromOutsider = await handle(
      inboxItem(channelId, removeActivity(actors.bob, actors.carol, output), "channelInbox"),
    );
    expect(answerOf(fromOutsider.published, "Reject").activity.summary).toContain("is not a member");
    await expectFollowersMatchRoster();
  });

  it("rejects a message from a removed member", async () => {
    if (!bobBeforeRemoval) throw new Error("no state");
    const { activity: message } = await messageActivity(actors.bob, bobBeforeRemoval, "still here?");
    const { published } = await handle(inboxItem(channelId, message, "channelInbox"));
    expect(published.map((request) => request.activity.type)).toEqual(["Reject"]);
    expect(published.some((request) => request.activityId === message.id)).toBe(false);
  });

  it("accepts messages of the previous epoch and rejects older ones (window 1)", async () => {
    const current = (await snapshot()).epoch ?? 0;
    const carolPrevious = stateOf("carol");
    // Move the epoch by one Add or Remove of dave (a self-update is neither).
    const followers = (await snapshot()).followers ?? [];
    const mover = followers.includes(actors.dave)
      ? undefined
      : await commit(stateOf("alice"), world.cs, { add: [client("dave").keyPackage] });
    if (mover) {
      answerOf(
        (await handle(inboxItem(channelId, addActivity(actors.alice, actors.dave, mover)))).published,
        "Accept",
      );
      await deliverCommit("alice", mover, ["dave"]);
    } else {
      const removal = await commit(stateOf("alice"), world.cs, { remove: [leafOf("dave")] });
      answerOf(
        (await handle(inboxItem(channelId, removeActivity(actors.alice, actors.dave, removal)))).published,
        "Accept",
      );
      await deliverCommit("alice", removal);
    }
    expect((await snapshot()).epoch).toBe(current + 1);
    const previous = await messageActivity(actors.carol, carolPrevious, "one epoch late");
    answerOf((await handle(inboxItem(channelId, previous.activity))).published, "Accept");

    if (!aliceAtEpoch1) throw new Error("no old state");
    const ancient = await messageActivity(actors.alice, aliceAtEpoch1, "far too late");
    const { published } = await handle(inboxItem(channelId, ancient.activity));
    expect(published.map((request) => request.activity.type)).toEqual(["Reject"]);
    expect(published[0]?.activity.summary).toContain("older than the channel accepts");
    await expectFollowersMatchRoster();
  });

  it("renames the channel; a name that is too long is rejected", async () => {
    const rename = activity(actors.carol, C, {
      type: "Update",
      object: { type: "Service", id: C, name: "random" },
    });
    answerOf((await handle(inboxItem(channelId, rename))).published, "Accept");
    expect((await world.ctx.store.channel(channelId))?.name).toBe("random");
    const tooLong = activity(actors.carol, C, {
      type: "Update",
      object: { type: "Service", id: C, name: "x".repeat(101) },
    });
    expect(
      answerOf((await handle(inboxItem(channelId, tooLong))).published, "Reject").activity.summary,
    ).toContain("1-100");
    expect((await world.ctx.store.channel(channelId))?.name).toBe("random");
  });

  it("a removed admin loses the role; re-added, they are a member", async () => {
    const addDave = async () => {
      const output = await commit(stateOf("alice"), world.cs, { add: [client("dave").keyPackage] });
      answerOf(
        (await handle(inboxItem(channelId, addActivity(actors.alice, actors.dave, output)))).published,
        "Accept",
      );
      await deliverCommit("alice", output, ["dave"]);
    };
    if (!((await snapshot()).followers ?? []).includes(actors.dave)) await addDave();
    answerOf(
      (await handle(inboxItem(channelId, roleActivity(actors.alice, actors.dave, "admin")))).published,
      "Accept",
    );
    expect(await roles()).toMatchObject({ [actors.dave]: "admin" });

    const removal = await commit(stateOf("alice"), world.cs, { remove: [leafOf("dave")] });
    answerOf(
      (await handle(inboxItem(channelId, removeActivity(actors.alice, actors.dave, removal)))).published,
      "Accept",
    );
    await deliverCommit("alice", removal);
    expect(await roles()).not.toHaveProperty(actors.dave);
    expect(await rowsOf("roles")).not.toContain(actors.dave);
    expect(await rowsOf("removed_members")).toContain(actors.dave);

    await addDave();
    expect(await roles()).toMatchObject({ [actors.dave]: "member" });
    expect(await rowsOf("removed_members")).not.toContain(actors.dave);
    await expectFollowersMatchRoster();
  });

  it("rejects other activity types and drops activities for unknown channels", async () => {
    const like = activity(actors.alice, C, { type: "Like", object: C });
    expect(
      answerOf((await handle(inboxItem(channelId, like))).published, "Reject").activity.summary,
    ).toContain("Like");
    const unknown = activity(actors.alice, `${A}/channels/nope`, {
      type: "Update",
      object: { type: "Service", id: "x", name: "y" },
    });
    const dropped = await handle(inboxItem("nope", unknown));
    expect(dropped.outcome.kind).toBe("drop");
    expect(dropped.published).toHaveLength(0);
  });

  it("does not apply a redelivered record twice, accepted or rejected", async () => {
    const sent = await messageActivity(actors.alice, stateOf("alice"), "once");
    client("alice").state = sent.newState;
    const item = inboxItem(channelId, sent.activity);
    answerOf((await handle(item)).published, "Accept");
    const before = await snapshot();
    const again = await handle(item);
    expect(again).toEqual({ outcome: { kind: "ok" }, published: [] });
    expect(await snapshot()).toEqual(before);

    const like = inboxItem(channelId, activity(actors.alice, C, { type: "Like", object: C }));
    answerOf((await handle(like)).published, "Reject");
    expect((await handle(like)).published).toEqual([]);
  });

  it("publishes the stored answer again when publishing failed, with the same ids", async () => {
    const sent = await messageActivity(actors.alice, stateOf("alice"), "retry me");
    client("alice").state = sent.newState;
    const item = inboxItem(channelId, sent.activity);
    world.bus.failNextPublish = true;
    const first = await handle(item);
    expect(first.outcome.kind).toBe("retry");
    expect(first.published).toEqual([]);
    const logged = await snapshot();
    expect(logged.log.at(-1)).toBe(sent.activity.id);
    const second = await handle(item);
    expect(second.outcome).toEqual({ kind: "ok" });
    expect(second.published.map((request) => request.activity.type)).toEqual(["Create", "Accept"]);
    expect(await snapshot()).toEqual(logged);
    expect((await handle(item)).published).toEqual([]);
  });

  it("accepts messages of one channel handled concurrently, each once, with consecutive sequence numbers", async () => {
    const before = (await snapshot()).lastSequence ?? 0;
    const items: ChannelInboxItem[] = [];
    for (const text of ["one", "two", "three"]) {
      const sent = await messageActivity(actors.alice, stateOf("alice"), text);
      client("alice").state = sent.newState;
      items.push(inboxItem(channelId, sent.activity));
    }
    // The last one is also redelivered while its first delivery is being handled.
    const last = items.at(-1);
    if (!last) throw new Error("no item");
    const outcomes = await Promise.all([...items, last].map((item) => handleToSettled(world.ctx, item)));
    expect(outcomes).toEqual(outcomes.map(() => ({ kind: "ok" })));
    const after = await snapshot();
    expect(after.lastSequence).toBe(before + 3);
    const ids = items.map((item) => String(item.activity.id));
    expect(after.log.filter((id) => ids.includes(String(id))).sort()).toEqual([...ids].sort());
    const accepts = deliveryRequests(world.bus).filter(
      (request) => request.activity.type === "Accept" && ids.includes(String(request.activity.object)),
    );
    expect(new Set(accepts.map((request) => request.activity["mimi:sequence"])).size).toBe(3);
  });

  it("a second replica's cached state follows a commit the first one accepted", async () => {
    const replica: ChannelSequencerContext = { ...world.ctx, store: createChannelStore(world.sql) };
    const warm = await messageActivity(actors.alice, stateOf("alice"), "replica warm-up");
    client("alice").state = warm.newState;
    answerOf((await handleReplica(replica, inboxItem(channelId, warm.activity))).published, "Accept");
    const epoch = (await snapshot()).epoch ?? 0;
    const followers = (await snapshot()).followers ?? [];
    const change = followers.includes(actors.dave)
      ? await commit(stateOf("alice"), world.cs, { remove: [leafOf("dave")] })
      : await commit(stateOf("alice"), world.cs, { add: [client("dave").keyPackage] });
    const submitted = followers.includes(actors.dave)
      ? removeActivity(actors.alice, actors.dave, change)
      : addActivity(actors.alice, actors.dave, change);
    answerOf((await handle(inboxItem(channelId, submitted))).published, "Accept");
    await deliverCommit("alice", change, followers.includes(actors.dave) ? [] : ["dave"]);
    expect((await snapshot()).epoch).toBe(epoch + 1);
    // A message of the new epoch needs the new state: the replica must not verify it against its cache.
    const fresh = await messageActivity(actors.alice, stateOf("alice"), "after the commit");
    client("alice").state = fresh.newState;
    const handled = await handleReplica(replica, inboxItem(channelId, fresh.activity));
    const forwarded = handled.published.find((request) => request.activityId === fresh.activity.id);
    expect(forwarded?.audience.includes(actors.dave)).toBe(!followers.includes(actors.dave));
    answerOf(handled.published, "Accept");
    await expectFollowersMatchRoster();
  });

  it("consumes channel.inbox through the bus", async () => {
    const workers = await startChannelSequencerWorkers(world.ctx);
    try {
      const sent = await messageActivity(actors.carol, stateOf("carol"), "via the bus");
      client("carol").state = sent.newState;
      await world.bus.publish(channelInboxTopic.name, [
        channelInboxTopic.message(channelId, inboxItem(channelId, sent.activity)),
      ]);
      await waitUntil(
        () =>
          deliveryRequests(world.bus).some(
            (request) => request.activity.type === "Accept" && request.activity.object === sent.activity.id,
          ),
        { timeoutMs: 5_000 },
      );
    } finally {
      await workers.stop();
    }
    await expectFollowersMatchRoster();
  });
});
