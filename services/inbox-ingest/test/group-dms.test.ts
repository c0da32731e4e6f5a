import { createHash } from "node:crypto";
import { PROBLEM_CONTENT_TYPE } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  activityId,
  createAccount,
  type FakeRemote,
  type IngestWorld,
  postSigned,
  postWithToken,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

/**
 * Group DMs at this provider (b.test): rita (remote.test) and bob (here) talk in a DM group hosted by
 * remote.test; mallory (remote.test) is no participant.
 */
const REMOTE = "http://remote.test";
const BOB = "http://b.test/users/bob";
const GROUP_PATH = "/channels/q7Vt0QpWq2mK9oXb3l1f8A";
const GROUP = `${REMOTE}${GROUP_PATH}`;
const GROUP_ID = Buffer.from("q7Vt0QpWq2mK9oXb3l1f8A", "base64url");
const P = ["acct:bob@b.test", "acct:rita@remote.test"];

let world: IngestWorld;
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let rita: RemoteActor;
let mallory: RemoteActor;
let bobToken: string;

/** An MLSMessage with a PrivateMessage's clear header (group id, epoch); the ciphertext is not read. */
function privateMessage(groupId: Uint8Array, epoch: bigint): string {
  const epochBytes = new Uint8Array(8);
  new DataView(epochBytes.buffer).setBigUint64(0, epoch);
  const bytes = new Uint8Array([0, 1, 0, 2, groupId.length, ...groupId, ...epochBytes, 1, 0, 0x40, 2, 7, 7]);
  return Buffer.from(bytes).toString("base64");
}

function groupDocument(overrides: Record<string, unknown> = {}) {
  return {
    id: GROUP,
    type: "Service",
    "mimi:kind": "dm",
    "mimi:groupId": GROUP_ID.toString("base64url"),
    "mimi:epoch": 4,
    "mimi:participants": P,
    "mimi:conversation": createHash("sha256").update(P.join("\n")).digest("base64url"),
    "mimi:participantActors": { "acct:bob@b.test": BOB, "acct:rita@remote.test": rita.id },
    ...overrides,
  };
}

function dmMessage(actor: string, fields: Record<string, unknown> = {}, epoch = 4n, groupId = GROUP_ID) {
  return {
    id: activityId(actor),
    type: "Create",
    actor,
    context: GROUP,
    to: [rita.id, BOB],
    object: {
      type: "PrivateMessage",
      mediaType: "message/mls",
      encoding: "base64",
      content: privateMessage(groupId, epoch),
    },
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

/** A refusal: the status, a problem+json body with the reason, nothing published, nothing stored. */
async function expectRefused(response: Response, status: number, reason: string, activity: { id: string }) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain(PROBLEM_CONTENT_TYPE);
  expect(await response.json()).toMatchObject({ status, reason });
  expect(ingest.bus.published).toEqual([]);
  expect(await seenRows(activity.id)).toBe(0);
}

const sharedInbox = () => `${ingest.base}/inbox`;
const send = (activity: { id: string }, signer: RemoteActor = rita) =>
  postSigned(sharedInbox(), JSON.stringify(activity), signer);

beforeAll(async () => {
  world = await startIngestWorld({
    settings: { dmGroupCacheTtlSeconds: 0, dmGroupCacheMaxStaleSeconds: 3600 },
  });
  ({ sql, remote, ingest } = world);
  bobToken = await createAccount(sql, "bob");
  rita = remote.addActor(REMOTE, "/users/rita", "rsa");
  mallory = remote.addActor(REMOTE, "/users/mallory", "ed25519");
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  remote.serve(GROUP_PATH, { document: groupDocument() });
  ingest.bus.published.length = 0;
});

describe("a group DM's message at the shared inbox", () => {
  it("is stored once for the local participants; a replay is a duplicate that changes nothing", async () => {
    const message = dmMessage(rita.id);
    expect((await send(message)).status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(userInboxTopic.name);
    const items = (batch?.messages ?? []).map((entry) => entry.key);
    expect(items).toEqual(["bob"]);
    ingest.bus.published.length = 0;
    expect((await send(message)).status).toBe(202);
    expect(ingest.bus.published).toEqual([]);
    expect(await seenRows(message.id)).toBe(1);
  });

  it("is accepted in the previous epoch and in any order of `to`", async () => {
    expect((await send(dmMessage(rita.id, { to: [BOB, rita.id] }, 3n))).status).toBe(202);
  });

  it("refuses a sender who is not a participant", async () => {
    const message = dmMessage(mallory.id);
    await expectRefused(await send(message, mallory), 403, "dmSenderNotParticipant", message);
  });

  it("refuses a recipient list that is not exactly the participants", async () => {
    for (const to of [
      [BOB, mallory.id],
      [rita.id, BOB, mallory.id],
      [rita.id, BOB, BOB],
    ]) {
      const message = dmMessage(rita.id, { to });
      await expectRefused(await send(message), 403, "dmRecipientsMismatch", message);
    }
  });

  it("refuses a PrivateMessage of another MLS group", async () => {
    const message = dmMessage(rita.id, {}, 4n, Buffer.alloc(16, 1));
    await expectRefused(await send(message), 403, "dmWrongGroup", message);
  });

  it("refuses a stale epoch, and one ahead of the group after reading it again", async () => {
    const stale = dmMessage(rita.id, {}, 2n);
    await expectRefused(await send(stale), 409, "dmEpochOutOfWindow", stale);
    // Ahead even after reading the group again: a retryable answer, as the group may move on.
    const ahead = dmMessage(rita.id, {}, 9n);
    const answer = await send(ahead);
    expect(answer.headers.get("retry-after")).toBe("1");
    await expectRefused(answer, 503, "dmEpochAhead", ahead);
  });

  it("follows the group's epoch when it moves on", async () => {
    remote.serve(GROUP_PATH, { document: groupDocument({ "mimi:epoch": 5 }) });
    expect((await send(dmMessage(rita.id, {}, 5n))).status).toBe(202);
  });

  it("refuses a context that is not a DM group, or a group that misnames a local participant", async () => {
    remote.serve(GROUP_PATH, { document: groupDocument({ "mimi:kind": undefined }) });
    const channel = dmMessage(rita.id);
    await expectRefused(await send(channel), 403, "dmNotADmGroup", channel);
    remote.serve(GROUP_PATH, { status: 404 });
    const missing = dmMessage(rita.id);
    await expectRefused(await send(missing), 403, "dmNotADmGroup", missing);
    remote.serve(GROUP_PATH, {
      document: groupDocument({
        "mimi:participantActors": {
          "acct:bob@b.test": `${REMOTE}/users/bob`,
          "acct:rita@remote.test": rita.id,
        },
      }),
    });
    const lying = dmMessage(rita.id, { to: [rita.id, `${REMOTE}/users/bob`] });
    await expectRefused(await send(lying), 403, "dmParticipantsUnverified", lying);
  });

  it("refuses a malformed DM message", async () => {
    const withCc = dmMessage(rita.id, { cc: [BOB] });
    await expectRefused(await send(withCc), 400, "dmMalformed", withCc);
  });

  it("keeps messages flowing on the cached group while its provider is unreachable", async () => {
    expect((await send(dmMessage(rita.id))).status).toBe(202);
    ingest.bus.published.length = 0;
    remote.serve(GROUP_PATH, { status: 502 });
    expect((await send(dmMessage(rita.id))).status).toBe(202);
  });

  it("answers 503 with Retry-After when the group cannot be read and nothing is cached", async () => {
    const otherPath = "/channels/AAAAAAAAAAAAAAAAAAAAAA";
    remote.serve(otherPath, { status: 503 });
    const message = dmMessage(rita.id, { context: `${REMOTE}${otherPath}` });
    const response = await send(message);
    expect(response.headers.get("retry-after")).toBe("30");
    await expectRefused(response, 503, "dmGroupLookupFailed", message);
  });
});

describe("a group DM's message at its sender's outbox", () => {
  const outbox = () => `${ingest.base}/users/bob/outbox`;

  it("is delivered to the participants when it matches its group, the sender's mailbox included", async () => {
    const dm = dmMessage(BOB);
    expect((await postWithToken(outbox(), JSON.stringify(dm), bobToken)).status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(deliveryRequestsTopic.name);
    // bob's other devices read what he sent from his mailbox: he is not left out of the audience.
    const message = batch?.messages[0];
    if (!message) throw new Error("nothing published");
    const request = deliveryRequestsTopic.parse(message);
    if (!request.ok) throw new Error(request.reason);
    expect(request.value.audience).toEqual(expect.arrayContaining([BOB, rita.id]));
    expect(request.value.exclude).toEqual([]);
  });

  it("is refused before anything is delivered when it does not", async () => {
    const message = dmMessage(BOB, { to: [BOB, rita.id, mallory.id] });
    await expectRefused(
      await postWithToken(outbox(), JSON.stringify(message), bobToken),
      403,
      "dmRecipientsMismatch",
      message,
    );
  });
});
