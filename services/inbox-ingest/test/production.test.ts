import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activityId,
  createAccount,
  createTestDatabase,
  type FakeRemote,
  KEK,
  postSigned,
  startFakeRemote,
  startTestIngest,
  type TestIngest,
} from "./harness.js";

let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;

beforeAll(async () => {
  sql = await createTestDatabase();
  await createAccount(sql, "bob");
  remote = await startFakeRemote();
  ingest = await startTestIngest({
    sql,
    env: { MIMI_ENV: "production", MIMI_PUBLIC_URL: "https://b.test", MIMI_KEY_ENCRYPTION_KEY: KEK },
  });
});

afterAll(async () => {
  await ingest?.close();
  await remote?.close();
  await sql?.close();
});

describe("production address policy for key fetches", () => {
  it("refuses keyIds on loopback, private and link-local addresses without making a request", async () => {
    const origins = [`https://127.0.0.1:${remote.port}`, "https://10.1.2.3", "https://169.254.169.254"];
    for (const origin of origins) {
      const actor = remote.addActor(origin, "/users/carol", "rsa");
      const activity = {
        id: activityId(origin),
        type: "Create",
        actor: actor.id,
        to: ["https://b.test/users/bob"],
      };
      const response = await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(activity), actor);
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect(await response.json()).toMatchObject({ reason: "keyFetchError" });
    }
    expect(remote.requests).toEqual([]);
    // Each was refused by the address policy before connecting (not a failed or timed-out connection).
    const refusals = ingest.logs().match(/blockedAddress/g) ?? [];
    expect(refusals.length).toBeGreaterThanOrEqual(origins.length);
    expect(ingest.logs()).not.toMatch(/connectError|timeout/);
    expect(ingest.bus.published).toEqual([]);
  });

  it("refuses a plain-http keyId before any lookup", async () => {
    const actor = remote.addActor("http://remote.test", "/users/dave", "rsa");
    const activity = {
      id: activityId("http://remote.test"),
      type: "Create",
      actor: actor.id,
      to: ["https://b.test/users/bob"],
    };
    const before = remote.requests.length;
    const response = await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(activity), actor);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ reason: "keyFetchError" });
    expect(remote.requests.length).toBe(before);
    expect(ingest.logs()).toMatch(/not an https URL/);
    expect(ingest.bus.published).toEqual([]);
  });
});
