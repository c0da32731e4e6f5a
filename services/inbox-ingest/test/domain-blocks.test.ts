import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
 * The operator's domain blocks at the inboxes: a blocked domain's signed POST is refused with 403
 * `domainBlocked` before its key is fetched, subdomains included, and whoever names a blocked actor.
 */
const BOB = "http://b.test/users/bob";
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let eve: RemoteActor;
let imp: RemoteActor;
let carol: RemoteActor;

beforeAll(async () => {
  sql = await createTestDatabase();
  await createAccount(sql, "bob");
  await sql.query(
    "insert into identity.blocked_domains (domain, source) values ('evil.test', 'config'), ('spam.test', 'admin')",
  );
  remote = await startFakeRemote();
  eve = remote.addActor("http://evil.test", "/users/eve", "rsa");
  imp = remote.addActor("http://inbox.evil.test", "/users/imp", "ed25519");
  carol = remote.addActor("http://remote.test", "/users/carol", "rsa");
  const at = `127.0.0.1:${remote.port}`;
  ingest = await startTestIngest({
    sql,
    env: { MIMI_DEV_CONNECT_TO: `remote.test=${at},evil.test=${at},inbox.evil.test=${at}` },
  });
});

afterAll(async () => {
  await ingest?.close();
  await remote?.close();
  await sql?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

function note(origin: string, actor: string) {
  return { id: activityId(origin), type: "Create", actor, to: [BOB], object: { type: "PrivateMessage" } };
}

describe("domain blocks at the inboxes", () => {
  it("refuses a blocked domain's signed POST without fetching its key", async () => {
    for (const [signer, origin] of [
      [eve, "http://evil.test"],
      [imp, "http://inbox.evil.test"],
    ] as const) {
      for (const inbox of ["/users/bob/inbox", "/inbox"]) {
        const before = remote.requests.length;
        const response = await postSigned(
          `${ingest.base}${inbox}`,
          JSON.stringify(note(origin, signer.id)),
          signer,
        );
        expect(response.status).toBe(403);
        expect(response.headers.get("content-type")).toContain("application/problem+json");
        expect(await response.json()).toMatchObject({ reason: "domainBlocked" });
        expect(remote.requests.length).toBe(before);
      }
    }
    expect(ingest.bus.published).toEqual([]);
    expect(ingest.logs()).toMatch(/inbox delivery from a blocked domain refused/);
  });

  it("refuses an activity whose actor is on a blocked domain, whoever signs it", async () => {
    const before = remote.requests.length;
    const response = await postSigned(
      `${ingest.base}/users/bob/inbox`,
      JSON.stringify(note("http://evil.test", eve.id)),
      carol,
    );
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ reason: "domainBlocked" });
    expect(remote.requests.length).toBe(before);
    expect(ingest.bus.published).toEqual([]);
  });

  it("still takes deliveries from other domains", async () => {
    const response = await postSigned(
      `${ingest.base}/users/bob/inbox`,
      JSON.stringify(note("http://remote.test", carol.id)),
      carol,
    );
    expect(response.status).toBe(202);
    expect(ingest.bus.published).toHaveLength(1);
  });
});
