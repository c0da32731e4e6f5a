import { generateKeyPairSync } from "node:crypto";
import { PROBLEM_CONTENT_TYPE } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { channelInboxTopic, userInboxTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  activityId,
  closedPort,
  createAccount,
  type FakeRemote,
  followersCollection,
  type IngestWorld,
  postSigned,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

const REMOTE = "http://remote.test";
const BOB = "http://b.test/users/bob";
const ALICE = "http://b.test/users/alice";
const BODY_LIMIT = 64 * 1024;

let world: IngestWorld;
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor; // RSA key
let dave: RemoteActor; // Ed25519 key
let room: RemoteActor; // a channel on the remote provider

beforeAll(async () => {
  world = await startIngestWorld({
    hosts: { "gone.test": await closedPort() },
    settings: { bodyLimitBytes: BODY_LIMIT },
  });
  ({ sql, remote, ingest } = world);
  await createAccount(sql, "bob");
  await createAccount(sql, "alice");
  carol = remote.addActor(REMOTE, "/users/carol", "rsa");
  dave = remote.addActor(REMOTE, "/users/dave", "ed25519");
  room = remote.addActor(REMOTE, "/channels/room", "rsa", "Service");
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

function note(actor: string, fields: Record<string, unknown> = {}) {
  return {
    id: activityId(REMOTE),
    type: "Create",
    actor,
    to: [BOB],
    object: { type: "PrivateMessage" },
    ...fields,
  };
}

async function seenRows(id: string): Promise<number> {
  const result = await sql.query<{ n: number }>(
    "select count(*)::int as n from ingest.seen_activities where activity_id = $1",
    [id],
  );
  return result.rows[0]?.n ?? 0;
}

/** A rejection: the status, a problem+json body with the reason, nothing published, nothing stored. */
async function expectRejected(response: Response, status: number, reason: string, activity?: { id: string }) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain(PROBLEM_CONTENT_TYPE);
  const problem = (await response.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, reason });
  expect(typeof problem.detail).toBe("string");
  expect(ingest.bus.published).toEqual([]);
  if (activity) expect(await seenRows(activity.id)).toBe(0);
  return problem;
}

function decodeUserInbox(index: number) {
  const batch = ingest.bus.published[index];
  expect(batch?.topic).toBe(userInboxTopic.name);
  return (batch?.messages ?? []).map((message) => {
    const parsed = userInboxTopic.parse(message);
    if (!parsed.ok) throw new Error(parsed.reason);
    return { key: message.key, item: parsed.value };
  });
}

describe("POST /users/:username/inbox", () => {
  const url = () => `${ingest.base}/users/bob/inbox`;

  it("accepts an RSA-signed activity and publishes one user.inbox item for the inbox owner", async () => {
    const activity = note(carol.id);
    const response = await postSigned(url(), JSON.stringify(activity), carol);
    expect(response.status).toBe(202);
    const [published] = decodeUserInbox(0);
    expect(ingest.bus.published).toHaveLength(1);
    expect(published?.key).toBe("bob");
    expect(published?.item).toMatchObject({
      username: "bob",
      activityId: activity.id,
      activity,
      deliveredBy: carol.id,
    });
    // The key was fetched with a GET signed as the instance actor.
    const fetches = remote.requests.filter((request) => request.url === "/users/carol");
    expect(fetches[0]?.method).toBe("GET");
    expect(fetches[0]?.signature).toContain('keyId="http://b.test/actor#main-key"');
  });

  it("accepts an Ed25519 (hs2019) signature", async () => {
    const activity = note(dave.id);
    const response = await postSigned(url(), JSON.stringify(activity), dave);
    expect(response.status).toBe(202);
    expect(decodeUserInbox(0)[0]?.item.deliveredBy).toBe(dave.id);
  });

  it("accepts the ld+json ActivityStreams media type", async () => {
    const activity = note(carol.id);
    const response = await postSigned(url(), JSON.stringify(activity), carol, {
      contentType: 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    });
    expect(response.status).toBe(202);
  });

  it("answers a replayed activity 202 and publishes it once", async () => {
    const activity = note(carol.id);
    const first = await postSigned(url(), JSON.stringify(activity), carol);
    const replay = await postSigned(url(), JSON.stringify(activity), carol);
    expect(first.status).toBe(202);
    expect(replay.status).toBe(202);
    expect(ingest.bus.published).toHaveLength(1);
    expect(await seenRows(activity.id)).toBe(1);
  });

  it("rejects a request without signature (401)", async () => {
    const activity = note(carol.id);
    const response = await postSigned(url(), JSON.stringify(activity), carol, { omitSignature: true });
    await expectRejected(response, 401, "missingSignature", activity);
    expect(response.headers.get("www-authenticate")).toContain("Signature");
  });

  it("rejects a body that does not match the signed Digest (401)", async () => {
    const activity = note(carol.id);
    const tampered = JSON.stringify({ ...activity, object: { type: "PrivateMessage", content: "changed" } });
    const response = await postSigned(url(), JSON.stringify(activity), carol, { sentBody: tampered });
    await expectRejected(response, 401, "digestMismatch", activity);
  });

  it("rejects a Date outside the window (401)", async () => {
    const activity = note(carol.id);
    for (const offsetHours of [-3, 3]) {
      const now = new Date(Date.now() + offsetHours * 3_600_000);
      const response = await postSigned(url(), JSON.stringify(activity), carol, { now });
      await expectRejected(response, 401, "dateOutOfWindow", activity);
    }
  });

  it("rejects an unknown or unreachable keyId (401)", async () => {
    const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const cases = [
      { actor: `${REMOTE}/users/nobody`, keyId: `${REMOTE}/users/nobody#main-key` },
      { actor: "http://gone.test/users/x", keyId: "http://gone.test/users/x#main-key" },
    ];
    for (const { actor, keyId } of cases) {
      const activity = { ...note(actor), id: `${new URL(actor).origin}/activities/${Math.random()}` };
      const response = await postSigned(url(), JSON.stringify(activity), { keyId, privateKey });
      const problem = await expectRejected(response, 401, "keyFetchError", activity);
      // How the fetch failed is not told to the sender.
      expect(String(problem.detail)).not.toContain("127.0.0.1");
    }
  });

  it("rejects a signature that does not verify with the actor's key (401)", async () => {
    const activity = note(carol.id);
    const impostor = {
      keyId: carol.keyId,
      privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
    };
    const response = await postSigned(url(), JSON.stringify(activity), impostor);
    await expectRejected(response, 401, "invalidSignature", activity);
  });

  it("rejects an activity whose actor is not the key's owner (401)", async () => {
    const activity = note(carol.id);
    const response = await postSigned(url(), JSON.stringify(activity), dave);
    await expectRejected(response, 401, "keyOwnerMismatch", activity);
  });

  it("answers 404 for an unknown user, after authentication", async () => {
    const activity = note(carol.id);
    const response = await postSigned(`${ingest.base}/users/nobody/inbox`, JSON.stringify(activity), carol);
    await expectRejected(response, 404, "unknownInbox", activity);
  });

  it("finds an account created right after a 404 for its name (unknown names are not remembered)", async () => {
    const newcomerInbox = `${ingest.base}/users/newcomer/inbox`;
    const early = note(carol.id, { to: ["http://b.test/users/newcomer"] });
    await expectRejected(
      await postSigned(newcomerInbox, JSON.stringify(early), carol),
      404,
      "unknownInbox",
      early,
    );
    await createAccount(sql, "newcomer");
    const later = note(carol.id, { to: ["http://b.test/users/newcomer"] });
    expect((await postSigned(newcomerInbox, JSON.stringify(later), carol)).status).toBe(202);
    expect(decodeUserInbox(0).map(({ key }) => key)).toEqual(["newcomer"]);
  });

  it("rejects a body over the limit (413)", async () => {
    const activity = note(carol.id, { padding: "x".repeat(BODY_LIMIT) });
    const response = await postSigned(url(), JSON.stringify(activity), carol);
    await expectRejected(response, 413, "bodyTooLarge", activity);
  });

  it("rejects other media types (415)", async () => {
    const activity = note(carol.id);
    for (const contentType of ["application/json", "text/plain", 'application/ld+json; profile="other"']) {
      const response = await postSigned(url(), JSON.stringify(activity), carol, { contentType });
      await expectRejected(response, 415, "unsupportedMediaType", activity);
    }
  });

  it("rejects a body that is not JSON (400)", async () => {
    const response = await postSigned(url(), "{not json", carol);
    await expectRejected(response, 400, "malformedJson");
  });

  it("rejects JSON without id, type or actor (400)", async () => {
    const complete = note(carol.id);
    for (const field of ["id", "type", "actor"] as const) {
      const { [field]: _removed, ...partial } = complete;
      const response = await postSigned(url(), JSON.stringify(partial), carol);
      const problem = await expectRejected(response, 400, "invalidEnvelope");
      expect(String(problem.detail)).toContain(field);
    }
  });

  it("answers 503 and forgets the delivery when publishing fails, so the retry is published", async () => {
    const activity = note(carol.id);
    ingest.bus.failNextPublish = true;
    const failed = await postSigned(url(), JSON.stringify(activity), carol);
    await expectRejected(failed, 503, "busUnavailable", activity);
    expect(failed.headers.get("retry-after")).toBe("30");
    const retried = await postSigned(url(), JSON.stringify(activity), carol);
    expect(retried.status).toBe(202);
    expect(ingest.bus.published).toHaveLength(1);
  });

  describe("activities forwarded by a channel", () => {
    const forwarded = () => note(carol.id, { target: room.id, to: [`${room.id}/followers`] });

    it("are denied while channel membership cannot be checked (401)", async () => {
      const activity = forwarded();
      const response = await postSigned(url(), JSON.stringify(activity), room);
      await expectRejected(response, 401, "channelMembershipUnknown", activity);
    });

    it("are denied when the actor is not a member (401)", async () => {
      remote.serve("/channels/room/followers", { document: followersCollection(room.id, [BOB]) });
      const activity = forwarded();
      const response = await postSigned(url(), JSON.stringify(activity), room);
      await expectRejected(response, 401, "notChannelMember", activity);
    });

    it("are accepted from a channel the actor belongs to, once; the author's own copy is refused", async () => {
      remote.serve("/channels/room/followers", { document: followersCollection(room.id, [carol.id, BOB]) });
      const activity = forwarded();
      expect((await postSigned(url(), JSON.stringify(activity), carol)).status).toBe(403);
      expect((await postSigned(url(), JSON.stringify(activity), room)).status).toBe(202);
      expect((await postSigned(url(), JSON.stringify(activity), room)).status).toBe(202);
      expect(ingest.bus.published).toHaveLength(1);
      expect(decodeUserInbox(0)[0]?.item.deliveredBy).toBe(room.id);
      expect(await seenRows(activity.id)).toBe(1);
    });

    it("reach only the channel's members, not the owner of the inbox they were POSTed to", async () => {
      const quiet = remote.addActor(REMOTE, "/channels/quiet", "ed25519", "Service");
      remote.serve("/channels/quiet/followers", { document: followersCollection(quiet.id, [carol.id]) });
      const activity = note(carol.id, { target: quiet.id, to: [`${quiet.id}/followers`] });
      const response = await postSigned(url(), JSON.stringify(activity), quiet);
      expect(response.status).toBe(202);
      expect(ingest.bus.published).toHaveLength(0);
    });
  });
});

describe("POST /inbox (shared)", () => {
  const url = () => `${ingest.base}/inbox`;

  it("publishes one user.inbox item per addressed local user with an account", async () => {
    const activity = note(carol.id, {
      to: [BOB, "http://b.test/users/nobody", `${REMOTE}/users/dave`],
      cc: [ALICE, "https://www.w3.org/ns/activitystreams#Public"],
    });
    const response = await postSigned(url(), JSON.stringify(activity), carol);
    expect(response.status).toBe(202);
    const items = decodeUserInbox(0);
    expect(items.map((entry) => entry.key).sort()).toEqual(["alice", "bob"]);
    for (const { key, item } of items) {
      expect(item).toMatchObject({ username: key, activityId: activity.id, deliveredBy: carol.id });
    }
  });

  it("accepts and drops a delivery that addresses nobody local", async () => {
    const activity = note(carol.id, { to: [`${REMOTE}/users/dave`] });
    const response = await postSigned(url(), JSON.stringify(activity), carol);
    expect(response.status).toBe(202);
    expect(ingest.bus.published).toEqual([]);
    expect(ingest.logs()).toContain("addresses no local user");
  });

  it("is authenticated like the personal inboxes", async () => {
    const activity = note(carol.id);
    await expectRejected(
      await postSigned(url(), JSON.stringify(activity), carol, { omitSignature: true }),
      401,
      "missingSignature",
      activity,
    );
    await expectRejected(
      await postSigned(url(), JSON.stringify(activity), dave),
      401,
      "keyOwnerMismatch",
      activity,
    );
  });
});

describe("POST /channels/:channelId/inbox", () => {
  it("publishes to channel.inbox keyed by the channel", async () => {
    const activity = note(carol.id, { to: ["http://b.test/channels/room1/followers"] });
    const response = await postSigned(`${ingest.base}/channels/room1/inbox`, JSON.stringify(activity), carol);
    expect(response.status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(channelInboxTopic.name);
    expect(batch?.messages[0]?.key).toBe("room1");
    const parsed = channelInboxTopic.parse(batch!.messages[0]!);
    expect(parsed).toMatchObject({
      ok: true,
      value: { channelId: "room1", activity, authenticatedActor: carol.id, via: "channelInbox" },
    });
  });

  it("answers 404 for a channel this provider does not host", async () => {
    const activity = note(carol.id);
    const response = await postSigned(`${ingest.base}/channels/nope/inbox`, JSON.stringify(activity), carol);
    await expectRejected(response, 404, "unknownInbox", activity);
  });

  it("does not take forwarded activities", async () => {
    const activity = note(carol.id, { to: [`${room.id}/followers`] });
    const response = await postSigned(`${ingest.base}/channels/room1/inbox`, JSON.stringify(activity), room);
    await expectRejected(response, 401, "keyOwnerMismatch", activity);
  });

  it("answers 503 when the channel lookup fails", async () => {
    const original = ingest.ports.channelExists;
    ingest.ports.channelExists = async () => {
      throw new Error("sequencer down");
    };
    try {
      const activity = note(carol.id);
      const response = await postSigned(
        `${ingest.base}/channels/room1/inbox`,
        JSON.stringify(activity),
        carol,
      );
      await expectRejected(response, 503, "channelLookupFailed", activity);
    } finally {
      ingest.ports.channelExists = original;
    }
  });
});

describe("metrics and logs", () => {
  it("counts accepted and rejected requests by reason", async () => {
    const text = await ingest.metrics.registry.metrics();
    expect(text).toMatch(
      /mimi_inbox_ingest_requests_total\{route="userInbox",outcome="accepted",reason=""\} [1-9]/,
    );
    expect(text).toMatch(
      /mimi_inbox_ingest_requests_total\{route="userInbox",outcome="rejected",reason="digestMismatch"\} 1/,
    );
    expect(text).toMatch(
      /mimi_inbox_ingest_requests_total\{route="userInbox",outcome="duplicate",reason=""\} [1-9]/,
    );
    expect(text).toMatch(
      /mimi_inbox_ingest_requests_total\{route="sharedInbox",outcome="dropped",reason="noLocalRecipient"\} 1/,
    );
  });

  it("never logs bodies or keys", async () => {
    const activity = note(carol.id, {
      object: { type: "PrivateMessage", content: "c2VjcmV0LWNpcGhlcnRleHQ=" },
    });
    expect((await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(activity), carol)).status).toBe(
      202,
    );
    const logs = ingest.logs();
    expect(logs).toContain(activity.id);
    expect(logs).not.toContain("c2VjcmV0LWNpcGhlcnRleHQ=");
    expect(logs).not.toContain("PRIVATE KEY");
    expect(logs).not.toContain("PUBLIC KEY");
    expect(logs).not.toMatch(/signature="/);
  });
});
