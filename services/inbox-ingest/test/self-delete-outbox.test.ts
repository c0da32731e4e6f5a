import type { Sql } from "@mimi/store";
import { deliveryRequestsTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createAccount,
  createTestDatabase,
  postWithToken,
  startTestIngest,
  type TestIngest,
} from "./harness.js";

/**
 * A user's Delete of their own actor, posted before the account is deleted, leaves the outbox as a
 * delivery request signed by the instance actor, so its retries still verify after the account's actor
 * document answers 410.
 */
const LOCAL = "http://b.test";
const BOB = `${LOCAL}/users/bob`;
const FAR_CHANNEL = "http://a.test/channels/c1";

let sql: Sql;
let ingest: TestIngest;
let bobToken: string;

beforeAll(async () => {
  sql = await createTestDatabase();
  bobToken = await createAccount(sql, "bob");
  ingest = await startTestIngest({ sql });
});

afterAll(async () => {
  await ingest?.close();
  await sql?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

async function postFromBob(activity: Record<string, unknown>) {
  const response = await postWithToken(`${ingest.base}/users/bob/outbox`, JSON.stringify(activity), bobToken);
  expect(response.status).toBe(202);
  const [batch] = ingest.bus.published;
  expect(batch?.topic).toBe(deliveryRequestsTopic.name);
  const parsed = deliveryRequestsTopic.parse(batch!.messages[0]!);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

describe("the Delete of a user's own actor at the outbox", () => {
  it("is delivered signed by the instance actor", async () => {
    const activity = {
      id: `${BOB}/activities/${crypto.randomUUID()}`,
      type: "Delete",
      actor: BOB,
      object: BOB,
      to: [FAR_CHANNEL],
    };
    const request = await postFromBob(activity);
    expect(request).toMatchObject({ activityId: activity.id, signAs: `${LOCAL}/actor` });
    expect(request.activity).toMatchObject({ type: "Delete", actor: BOB, object: BOB });
  });

  it("leaves any other Delete signed as the user", async () => {
    const activity = {
      id: `${BOB}/activities/${crypto.randomUUID()}`,
      type: "Delete",
      actor: BOB,
      object: `${BOB}/notes/1`,
      to: [FAR_CHANNEL],
    };
    expect(await postFromBob(activity)).toMatchObject({ activityId: activity.id, signAs: BOB });
  });
});
