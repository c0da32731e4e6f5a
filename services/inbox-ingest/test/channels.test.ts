import type { Sql } from "@mimi/store";
import { channelInboxTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAccount,
  expectRefused,
  type FakeRemote,
  followersCollection,
  type IngestWorld,
  postSigned,
  postWithToken,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

/**
 * Channels across providers (docs/channels.md): this provider is `b.test`; `remote.test` is a fake
 * provider hosting the channel `room` (actor document and followers collection), its members' actors,
 * and signing its POSTs like a channel forwarding its members' activities.
 */
const REMOTE = "http://remote.test";
const LOCAL = "http://b.test";
const BOB = `${LOCAL}/users/bob`;
const ALICE = `${LOCAL}/users/alice`;
const DAN = `${LOCAL}/users/dan`;

let world: IngestWorld;
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let bobToken: string;
let room: RemoteActor; // the remote channel
let roomFollowers: string;
let carol: RemoteActor; // a remote member
let eve: RemoteActor; // a remote user who is not a member
let frank: RemoteActor; // a remote user added later
let local: RemoteActor; // a channel of b.test (its key document served through the fake server)

beforeAll(async () => {
  world = await startIngestWorld({ hosts: { "b.test": "remote" }, localChannels: ["loc"] });
  ({ sql, remote, ingest } = world);
  bobToken = await createAccount(sql, "bob");
  await createAccount(sql, "alice");
  await createAccount(sql, "dan");
  room = remote.addActor(REMOTE, "/channels/room", "rsa", "Service");
  roomFollowers = `${room.id}/followers`;
  carol = remote.addActor(REMOTE, "/users/carol", "ed25519");
  eve = remote.addActor(REMOTE, "/users/eve", "ed25519");
  frank = remote.addActor(REMOTE, "/users/frank", "ed25519");
  // b.test's own channel key lives in its database in production; here the fake server stands in.
  local = remote.addActor(LOCAL, "/channels/loc", "ed25519", "Service");
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

function setMembers(members: string[]) {
  remote.serve("/channels/room/followers", { document: followersCollection(room.id, members) });
}

function followerFetches(): number {
  return remote.requests.filter((request) => request.url === "/channels/room/followers").length;
}

function channelMessage(actor: string, fields: Record<string, unknown> = {}) {
  return {
    id: `${actor}/activities/${crypto.randomUUID()}`,
    type: "Create",
    actor,
    object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAEC" },
    target: room.id,
    to: [roomFollowers],
    ...fields,
  };
}

/** Whose inboxes got a user.inbox item, sorted. */
const inboxOwners = () =>
  userInboxItems()
    .map((entry) => entry.key)
    .sort();

function userInboxItems() {
  return ingest.bus.published.flatMap((batch) => {
    expect(batch.topic).toBe(userInboxTopic.name);
    return batch.messages.map((message) => {
      const parsed = userInboxTopic.parse(message);
      if (!parsed.ok) throw new Error(parsed.reason);
      return { key: message.key, item: parsed.value };
    });
  });
}

const expectRejected = (response: Response, status: number, reason: string) =>
  expectRefused(ingest, response, status, reason);

describe("activities forwarded by a remote channel", () => {
  it("reach every local member through the shared inbox, one item each", async () => {
    setMembers([carol.id, BOB, ALICE, `${REMOTE}/users/zoe`, `${LOCAL}/users/nobody`]);
    const activity = channelMessage(carol.id);
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), room);
    expect(response.status).toBe(202);
    const items = userInboxItems();
    expect(items.map((entry) => entry.key).sort()).toEqual(["alice", "bob"]);
    for (const { key, item } of items) {
      expect(item).toEqual({
        username: key,
        activityId: activity.id,
        activity,
        deliveredBy: room.id,
        receivedAt: expect.any(String),
      });
    }
    // The collection was read with a GET signed as this provider's instance actor.
    const fetch = remote.requests.findLast((request) => request.url === "/channels/room/followers");
    expect(fetch?.method).toBe("GET");
    expect(fetch?.signature).toContain('keyId="http://b.test/actor#main-key"');
  });

  it("reuse the member list for a while", async () => {
    const before = followerFetches();
    for (let i = 0; i < 3; i += 1) {
      const response = await postSigned(
        `${ingest.base}/inbox`,
        JSON.stringify(channelMessage(carol.id)),
        room,
      );
      expect(response.status).toBe(202);
    }
    expect(followerFetches()).toBe(before);
    expect(userInboxItems()).toHaveLength(6);
  });

  it("are published once however many local inboxes the channel POSTs them to", async () => {
    const activity = channelMessage(carol.id);
    for (const inbox of ["/users/bob/inbox", "/users/alice/inbox", "/inbox"]) {
      const response = await postSigned(`${ingest.base}${inbox}`, JSON.stringify(activity), room);
      expect(response.status).toBe(202);
    }
    expect(inboxOwners()).toEqual(["alice", "bob"]);
  });

  it("are refused when signed by anyone but the channel `target` names (401)", async () => {
    const activity = channelMessage(carol.id);
    await expectRejected(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), eve),
      401,
      "notForwardedByChannel",
    );
    // Another channel cannot forward for this one, even one listing the same members and addressing
    // its own followers: the real channel's membership is the only one that counts.
    const other = remote.addActor(REMOTE, "/channels/other", "ed25519", "Service");
    remote.serve("/channels/other/followers", {
      document: followersCollection(other.id, [carol.id, BOB, ALICE]),
    });
    for (const forged of [
      activity,
      channelMessage(carol.id, { to: [`${other.id}/followers`] }),
      channelMessage(carol.id, { type: "Update", object: { type: "Service", id: room.id, name: "pwned" } }),
      channelMessage(carol.id, { type: "Remove", object: BOB }),
    ]) {
      await expectRejected(
        await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(forged), other),
        401,
        "notForwardedByChannel",
      );
    }
  });

  it("are refused when the author sends them itself, to a user's or the shared inbox (403)", async () => {
    // A member (or anyone) cannot act on other members' clients without the channel.
    for (const fields of [
      { type: "Update", object: { type: "Service", id: room.id, name: "renamed by carol" } },
      { type: "Remove", object: BOB },
      { type: "Add", object: BOB },
      {},
    ]) {
      for (const inbox of ["/users/bob/inbox", "/inbox"]) {
        await expectRejected(
          await postSigned(`${ingest.base}${inbox}`, JSON.stringify(channelMessage(carol.id, fields)), carol),
          403,
          "channelActivityNotFromChannel",
        );
      }
    }
  });

  it("are refused when the actor is not a member, after reading the members anew (401)", async () => {
    const before = followerFetches();
    const activity = channelMessage(eve.id);
    await expectRejected(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), room),
      401,
      "notChannelMember",
    );
    expect(followerFetches()).toBe(before + 1);
  });

  it("from a member added since the list was read: read anew and delivered", async () => {
    setMembers([carol.id, BOB, ALICE, frank.id]);
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(channelMessage(frank.id)), room);
    expect(response.status).toBe(202);
    expect(inboxOwners()).toEqual(["alice", "bob"]);
  });

  it("answer 503 when the member list cannot be read for now", async () => {
    remote.serve("/channels/room/followers", { status: 500 });
    try {
      const activity = channelMessage(carol.id, { type: "Add", object: DAN });
      const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), room);
      await expectRejected(response, 503, "membershipCheckFailed");
      expect(response.headers.get("retry-after")).toBe("60");
    } finally {
      setMembers([carol.id, BOB, ALICE, frank.id]);
    }
  });
});

describe("Add and Remove forwarded by a remote channel", () => {
  it("an Add naming a local user not yet known as a member reads the members anew and reaches them", async () => {
    setMembers([carol.id, BOB]);
    // Warm the cache with the members before the Add.
    expect(
      (await postSigned(`${ingest.base}/inbox`, JSON.stringify(channelMessage(carol.id)), room)).status,
    ).toBe(202);
    ingest.bus.published.length = 0;
    setMembers([carol.id, BOB, DAN]);
    const before = followerFetches();
    const add = channelMessage(carol.id, {
      type: "Add",
      object: DAN,
      "mimi:commit": { type: "PublicMessage" },
      "mimi:welcome": { type: "Welcome" },
    });
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(add), room);
    expect(response.status).toBe(202);
    expect(followerFetches()).toBe(before + 1);
    expect(inboxOwners()).toEqual(["bob", "dan"]);
    // The next message reaches the new member from the list read for the Add.
    ingest.bus.published.length = 0;
    await postSigned(`${ingest.base}/inbox`, JSON.stringify(channelMessage(DAN)), room);
    expect(inboxOwners()).toEqual(["bob", "dan"]);
    expect(followerFetches()).toBe(before + 1);
  });

  it("a Remove reaches the removed local user, who is no longer a member", async () => {
    setMembers([carol.id, ALICE]);
    const remove = channelMessage(carol.id, {
      type: "Remove",
      object: BOB,
      "mimi:commit": { type: "PublicMessage" },
    });
    const response = await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(remove), room);
    expect(response.status).toBe(202);
    expect(inboxOwners()).toEqual(["alice", "bob"]);
  });

  it("are refused, a Remove included, when the channel refuses this provider its members (fail closed)", async () => {
    for (const status of [403, 404]) {
      remote.serve("/channels/room/followers", { status });
      try {
        for (const forward of [
          channelMessage(carol.id, { type: "Remove", object: DAN }),
          channelMessage(carol.id),
        ]) {
          await expectRejected(
            await postSigned(`${ingest.base}/inbox`, JSON.stringify(forward), room),
            401,
            "channelMembershipUnknown",
          );
        }
      } finally {
        setMembers([carol.id, BOB, ALICE]);
      }
    }
  });

  it("a Remove reaches the removed user while the channel still lets this provider read its members", async () => {
    setMembers([carol.id, ALICE]);
    const remove = channelMessage(carol.id, { type: "Remove", object: DAN });
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(remove), room);
    expect(response.status).toBe(202);
    expect(inboxOwners()).toEqual(["alice", "dan"]);
    setMembers([carol.id, BOB, ALICE]);
  });

  it("a member leaving (Remove of itself) reaches the remaining local members", async () => {
    setMembers([BOB, ALICE]);
    const leave = channelMessage(carol.id, { type: "Remove", object: carol.id });
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(leave), room);
    expect(response.status).toBe(202);
    expect(inboxOwners()).toEqual(["alice", "bob"]);
    setMembers([carol.id, BOB, ALICE]);
  });
});

describe("answers of a remote channel", () => {
  it("deliver Accept and Reject to the submitter at the shared and the personal inbox", async () => {
    const accept = {
      id: `${room.id}/activities/${crypto.randomUUID()}`,
      type: "Accept",
      actor: room.id,
      object: `${BOB}/activities/1`,
      "mimi:epoch": 3,
      "mimi:sequence": 7,
      to: [BOB],
    };
    const reject = {
      id: `${room.id}/activities/${crypto.randomUUID()}`,
      type: "Reject",
      actor: room.id,
      object: `${BOB}/activities/2`,
      "mimi:currentEpoch": 3,
      summary: "stale epoch",
      to: [BOB],
    };
    expect((await postSigned(`${ingest.base}/inbox`, JSON.stringify(accept), room)).status).toBe(202);
    expect((await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(reject), room)).status).toBe(
      202,
    );
    const items = userInboxItems();
    expect(items.map((entry) => [entry.key, entry.item.activity.type, entry.item.deliveredBy])).toEqual([
      ["bob", "Accept", room.id],
      ["bob", "Reject", room.id],
    ]);
  });
});

describe("local channels", () => {
  it("check membership through the injected port, without fetching", async () => {
    const asked: string[] = [];
    ingest.ports.localChannelFollowers = async (channelId) => {
      asked.push(channelId);
      return channelId === "loc" ? [BOB, carol.id] : undefined;
    };
    try {
      const activity = channelMessage(carol.id, { target: local.id, to: [`${local.id}/followers`] });
      const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), local);
      expect(response.status).toBe(202);
      expect(userInboxItems().map((entry) => entry.key)).toEqual(["bob"]);
      expect(asked).toEqual(["loc"]);
      expect(remote.requests.some((request) => request.url === "/channels/loc/followers")).toBe(false);

      ingest.bus.published.length = 0;
      const outsider = channelMessage(eve.id, { target: local.id, to: [`${local.id}/followers`] });
      await expectRejected(
        await postSigned(`${ingest.base}/inbox`, JSON.stringify(outsider), local),
        401,
        "notChannelMember",
      );
    } finally {
      delete ingest.ports.localChannelFollowers;
    }
  });

  it("take a remote member's submission through the shared inbox", async () => {
    const activity = channelMessage(carol.id, {
      target: `${LOCAL}/channels/room1`,
      to: [`${LOCAL}/channels/room1/followers`],
    });
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), carol);
    expect(response.status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(channelInboxTopic.name);
    expect(batch?.messages[0]?.key).toBe("room1");
    expect(channelInboxTopic.parse(batch!.messages[0]!)).toMatchObject({
      ok: true,
      value: { channelId: "room1", activity, authenticatedActor: carol.id, via: "sharedInbox" },
    });
    ingest.bus.published.length = 0;
    const unknown = channelMessage(carol.id, {
      target: `${LOCAL}/channels/nope`,
      to: [`${LOCAL}/channels/nope/followers`],
    });
    await expectRejected(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(unknown), carol),
      404,
      "unknownInbox",
    );
  });
});

describe("outbox activities for channels", () => {
  const outbox = () => `${ingest.base}/users/bob/outbox`;
  const ownId = () => `${BOB}/activities/${crypto.randomUUID()}`;

  it("go through a remote channel: delivered to the channel only, still addressed to its followers", async () => {
    const activity = channelMessage(BOB, { id: ownId() });
    const response = await postWithToken(outbox(), JSON.stringify(activity), bobToken);
    expect(response.status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(deliveryRequestsTopic.name);
    const parsed = deliveryRequestsTopic.parse(batch!.messages[0]!);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value).toMatchObject({ activity, signAs: BOB, audience: [room.id] });
    expect(parsed.value.activity.to).toEqual([roomFollowers]);
  });

  it("create a new local channel although it does not exist yet", async () => {
    const channel = `${LOCAL}/channels/AAECAwQFBgcICQoLDA0ODw`;
    const create = {
      id: ownId(),
      type: "Create",
      actor: BOB,
      object: { type: "Service", id: channel, name: "New" },
      "mimi:groupInfo": { type: "GroupInfo", mediaType: "message/mls", encoding: "base64", content: "AA" },
      target: channel,
      to: [`${channel}/followers`],
    };
    const response = await postWithToken(outbox(), JSON.stringify(create), bobToken);
    expect(response.status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(channelInboxTopic.name);
    expect(channelInboxTopic.parse(batch!.messages[0]!)).toMatchObject({
      ok: true,
      value: {
        channelId: "AAECAwQFBgcICQoLDA0ODw",
        activity: create,
        authenticatedActor: BOB,
        via: "outbox",
      },
    });
  });

  it("refuse a Create{Service} for another provider's channel (400)", async () => {
    const create = {
      id: ownId(),
      type: "Create",
      actor: BOB,
      object: { type: "Service", id: room.id, name: "Mine" },
      target: room.id,
      to: [roomFollowers],
    };
    await expectRejected(
      await postWithToken(outbox(), JSON.stringify(create), bobToken),
      400,
      "channelNotLocal",
    );
  });

  it("refuse other activities for a local channel that does not exist (404)", async () => {
    const message = channelMessage(BOB, {
      id: ownId(),
      target: `${LOCAL}/channels/nope`,
      to: [`${LOCAL}/channels/nope/followers`],
    });
    await expectRejected(
      await postWithToken(outbox(), JSON.stringify(message), bobToken),
      404,
      "unknownChannel",
    );
  });

  it("refuse ids that are not under the user's actor URL (400)", async () => {
    const message = channelMessage(BOB, { id: `${LOCAL}/activities/${crypto.randomUUID()}` });
    await expectRejected(
      await postWithToken(outbox(), JSON.stringify(message), bobToken),
      400,
      "activityIdNotLocal",
    );
  });
});
