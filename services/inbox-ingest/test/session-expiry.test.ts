import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, createTestDatabase, startTestIngest, type TestIngest } from "./harness.js";

let sql: Sql;
let ingest: TestIngest;

beforeAll(async () => {
  sql = await createTestDatabase();
  ingest = await startTestIngest({ sql });
});

afterAll(async () => {
  await ingest?.close();
  await sql?.close();
});

function post(token: string) {
  const activity = {
    id: `http://b.test/users/ivy/activities/${Math.random().toString(36).slice(2)}`,
    type: "Create",
    actor: "http://b.test/users/ivy",
    to: ["http://b.test/users/ivy"],
    object: { type: "Note", content: "hello" },
  };
  return fetch(`${ingest.base}/users/ivy/outbox`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/activity+json" },
    body: JSON.stringify(activity),
  });
}

describe("the outbox and sessions that ended", () => {
  it("answers a session unused past the idle limit 401 sessionExpired, so the client can say so", async () => {
    const token = await createAccount(sql, "ivy");
    await sql.query(
      "update identity.tokens set last_used_at = now() - interval '31 days' where username = 'ivy'",
    );
    const response = await post(token);
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(await response.json()).toMatchObject({ reason: "sessionExpired" });
    expect(ingest.bus.published).toEqual([]);

    const unknown = await post("mimi_test-nobody");
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ reason: "invalidToken" });
  });
});
