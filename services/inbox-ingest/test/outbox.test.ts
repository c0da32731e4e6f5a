import type { Sql } from "@mimi/store";
import { channelInboxTopic, deliveryRequestsTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAccount,
  createTestDatabase,
  expectRefused,
  postWithToken,
  startTestIngest,
  type TestIngest,
} from "./harness.js";

const LOCAL = "http://b.test";
const BOB = `${LOCAL}/users/bob`;
const ALICE = `${LOCAL}/users/alice`;
const CAROL = "http://remote.test/users/carol";
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";

let sql: Sql;
let ingest: TestIngest;
let bobToken: string;
let aliceToken: string;

beforeAll(async () => {
  sql = await createTestDatabase();
  bobToken = await createAccount(sql, "bob");
  aliceToken = await createAccount(sql, "alice");
  ingest = await startTestIngest({ sql });
});

afterAll(async () => {
  await ingest?.close();
  await sql?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

const outboxUrl = (username = "bob") => `${ingest.base}/users/${username}/outbox`;

function message(fields: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
  return {
    id: `${typeof fields.actor === "string" ? fields.actor : BOB}/activities/${crypto.randomUUID()}`,
    type: "Create",
    actor: BOB,
    to: [CAROL],
    object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAEC" },
    ...fields,
  };
}

const expectRejected = (response: Response, status: number, reason: string) =>
  expectRefused(ingest, response, status, reason);

describe("POST /users/:username/outbox", () => {
  it("sends a direct activity to delivery.requests, signed as the user", async () => {
    const activity = message({ to: [CAROL, PUBLIC], cc: [ALICE], bcc: ["http://c.test/users/dan"] });
    const response = await postWithToken(outboxUrl(), JSON.stringify(activity), bobToken);
    expect(response.status).toBe(202);
    const [batch] = ingest.bus.published;
    expect(batch?.topic).toBe(deliveryRequestsTopic.name);
    // Keyed by the signing actor: one author's activities stay in order on the way out.
    expect(batch?.messages[0]?.key).toBe(BOB);
    const parsed = deliveryRequestsTopic.parse(batch!.messages[0]!);
    if (!parsed.ok) throw new Error(parsed.reason);
    const { bcc: _bcc, ...delivered } = activity;
    expect(parsed.value).toMatchObject({
      activityId: activity.id,
      activity: delivered,
      signAs: BOB,
      audience: [CAROL, ALICE, "http://c.test/users/dan"],
      exclude: [BOB],
    });
    expect(parsed.value.activity).not.toHaveProperty("bcc");
  });

  it("sends channel activities to channel.inbox via the outbox", async () => {
    const cases = [
      message({ to: [`${LOCAL}/channels/room1/followers`] }),
      message({
        type: "Add",
        object: CAROL,
        target: `${LOCAL}/channels/room1`,
        to: [`${LOCAL}/channels/room1/followers`],
      }),
      message({ type: "Update", object: { id: `${LOCAL}/channels/room1`, type: "Service", name: "Room" } }),
    ];
    for (const activity of cases) {
      ingest.bus.published.length = 0;
      const response = await postWithToken(outboxUrl(), JSON.stringify(activity), bobToken);
      expect(response.status).toBe(202);
      const [batch] = ingest.bus.published;
      expect(batch?.topic).toBe(channelInboxTopic.name);
      expect(batch?.messages[0]?.key).toBe("room1");
      expect(channelInboxTopic.parse(batch!.messages[0]!)).toMatchObject({
        ok: true,
        value: { channelId: "room1", activity, authenticatedActor: BOB, via: "outbox" },
      });
    }
  });

  it("answers a resubmitted activity 202 and publishes it once", async () => {
    const activity = message();
    expect((await postWithToken(outboxUrl(), JSON.stringify(activity), bobToken)).status).toBe(202);
    expect((await postWithToken(outboxUrl(), JSON.stringify(activity), bobToken)).status).toBe(202);
    expect(ingest.bus.published).toHaveLength(1);
  });

  it("rejects another user's token (403)", async () => {
    await expectRejected(
      await postWithToken(outboxUrl(), JSON.stringify(message()), aliceToken),
      403,
      "wrongUser",
    );
  });

  it("rejects a missing or invalid token (401)", async () => {
    const body = JSON.stringify(message());
    const missing = await postWithToken(outboxUrl(), body, undefined);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    await expectRejected(missing, 401, "missingToken");
    await expectRejected(await postWithToken(outboxUrl(), body, "mimi_not-a-token"), 401, "invalidToken");
  });

  it("rejects an activity whose actor is not the user (403)", async () => {
    await expectRejected(
      await postWithToken(outboxUrl(), JSON.stringify(message({ actor: ALICE })), bobToken),
      403,
      "actorMismatch",
    );
  });

  it("rejects ids outside this provider and activities it cannot route (400)", async () => {
    // Ids live under the user's own actor URL: not on another provider, not under another user.
    for (const id of ["http://remote.test/activities/1", `${ALICE}/activities/1`, `${LOCAL}/activities/1`]) {
      await expectRejected(
        await postWithToken(outboxUrl(), JSON.stringify(message({ id })), bobToken),
        400,
        "activityIdNotLocal",
      );
    }
    const nobody = message({ to: [PUBLIC] });
    await expectRejected(
      await postWithToken(outboxUrl(), JSON.stringify(nobody), bobToken),
      400,
      "noAudience",
    );
  });

  it("checks media type, size and JSON before the token", async () => {
    await expectRejected(
      await postWithToken(outboxUrl(), JSON.stringify(message()), undefined, "application/json"),
      415,
      "unsupportedMediaType",
    );
    await expectRejected(await postWithToken(outboxUrl(), "{", undefined), 400, "malformedJson");
    await expectRejected(
      await postWithToken(outboxUrl(), JSON.stringify({ type: "Create" }), undefined),
      400,
      "invalidEnvelope",
    );
  });

  it("answers 404 when the token's account no longer exists", async () => {
    const token = await createAccount(sql, "gone");
    const actor = `${LOCAL}/users/gone`;
    // The first request caches the token's answer; the account is deleted after it.
    expect((await postWithToken(outboxUrl("gone"), JSON.stringify(message({ actor })), token)).status).toBe(
      202,
    );
    await sql.query("delete from identity.accounts where username = 'gone'");
    ingest.bus.published.length = 0;
    await expectRejected(
      await postWithToken(outboxUrl("gone"), JSON.stringify(message({ actor })), token),
      404,
      "unknownInbox",
    );
  });

  it("never logs the bearer token or the body", async () => {
    const activity = message();
    expect((await postWithToken(outboxUrl(), JSON.stringify(activity), bobToken)).status).toBe(202);
    await postWithToken(outboxUrl(), JSON.stringify(message()), aliceToken);
    const logs = ingest.logs();
    expect(logs).toContain(activity.id);
    expect(logs).not.toContain(bobToken);
    expect(logs).not.toContain(aliceToken);
    expect(logs).not.toContain("AAEC");
  });
});
