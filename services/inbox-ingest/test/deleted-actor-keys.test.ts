import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activityId,
  createAccount,
  createTestDatabase,
  type FakeRemote,
  postSigned,
  type RemoteActor,
  startFakeRemote,
  startTestIngest,
  type TestIngest,
} from "./harness.js";

/**
 * The Delete of an actor drops their cached keys: once the actor document is gone (410), a request
 * signed with the deleted actor's key no longer verifies against the cache for up to a day.
 */
const REMOTE = "http://remote.test";
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor;

beforeAll(async () => {
  sql = await createTestDatabase();
  remote = await startFakeRemote();
  carol = remote.addActor(REMOTE, "/users/carol", "rsa");
  ingest = await startTestIngest({
    sql,
    env: { MIMI_DEV_CONNECT_TO: `remote.test=127.0.0.1:${remote.port}` },
  });
  await createAccount(sql, "bob");
});
afterAll(async () => {
  await ingest?.close();
  await remote?.close();
  await sql?.close();
});

const bobInbox = () => `${ingest.base}/users/bob/inbox`;
const note = () => ({
  id: activityId(REMOTE),
  type: "Create",
  actor: carol.id,
  to: ["http://b.test/users/bob"],
  object: { type: "Note" },
});

describe("a deleted actor's keys", () => {
  it("verify from the cache until the Delete arrives, and not after it", async () => {
    expect((await postSigned(bobInbox(), JSON.stringify(note()), carol)).status).toBe(202);
    // Her account is deleted: her document is gone, but her key is still in the cache.
    remote.serve("/users/carol", { status: 410 });
    expect((await postSigned(bobInbox(), JSON.stringify(note()), carol)).status).toBe(202);

    const deletion = {
      id: activityId(REMOTE),
      type: "Delete",
      actor: carol.id,
      to: ["https://www.w3.org/ns/activitystreams#Public"],
      object: carol.id,
    };
    expect((await postSigned(bobInbox(), JSON.stringify(deletion), carol)).status).toBe(202);
    expect(ingest.logs()).toContain("deleted actor's cached keys dropped");

    const after = await postSigned(bobInbox(), JSON.stringify(note()), carol);
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ reason: "keyFetchError" });
  });
});
