import type { Sql } from "@mimi/store";
import { userInboxTopic } from "@mimi/topics";
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
 * A user's own blocks at the inboxes: a direct delivery from an author the recipient blocked (or from
 * the author's domain) is withheld from that recipient, silently: 202, as for any delivery.
 */
const REMOTE = "http://remote.test";
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor;
let users = 0;

beforeAll(async () => {
  sql = await createTestDatabase();
  remote = await startFakeRemote();
  carol = remote.addActor(REMOTE, "/users/carol", "rsa");
  ingest = await startTestIngest({
    sql,
    env: { MIMI_DEV_CONNECT_TO: `remote.test=127.0.0.1:${remote.port}` },
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

/** A fresh local user (block lists are cached per user for 10 s) with `blocks`. */
async function user(blocks: Array<[string, "user" | "domain"]> = []): Promise<string> {
  const username = `u${++users}_${Date.now() % 100000}`;
  await createAccount(sql, username);
  for (const [target, kind] of blocks) {
    await sql.query("insert into identity.user_blocks (username, target, kind) values ($1, $2, $3)", [
      username,
      target,
      kind,
    ]);
  }
  return username;
}

function note(to: string[]) {
  return { id: activityId(REMOTE), type: "Create", actor: carol.id, to, object: { type: "Note" } };
}

function recipients(): string[] {
  return ingest.bus.published
    .filter((batch) => batch.topic === userInboxTopic.name)
    .flatMap((batch) => batch.messages.map((message) => message.key));
}

describe("a recipient's blocks", () => {
  it("withholds a blocked author's delivery to a personal inbox, answering 202", async () => {
    for (const block of [
      ["carol@remote.test", "user"],
      ["remote.test", "domain"],
    ] as const) {
      const bob = await user([[block[0], block[1]]]);
      const response = await postSigned(
        `${ingest.base}/users/${bob}/inbox`,
        JSON.stringify(note([`http://b.test/users/${bob}`])),
        carol,
      );
      expect(response.status).toBe(202);
      expect(recipients()).toEqual([]);
    }
    expect(ingest.logs()).toMatch(/direct delivery withheld from recipients who blocked its author/);
  });

  it("delivers to the other recipients of a shared-inbox delivery", async () => {
    const bob = await user([["carol@remote.test", "user"]]);
    const amy = await user();
    const response = await postSigned(
      `${ingest.base}/inbox`,
      JSON.stringify(note([`http://b.test/users/${bob}`, `http://b.test/users/${amy}`])),
      carol,
    );
    expect(response.status).toBe(202);
    expect(recipients()).toEqual([amy]);
  });

  it("leaves deliveries from authors nobody blocked alone", async () => {
    const dee = await user([
      ["someone@remote.test", "user"],
      ["other.test", "domain"],
    ]);
    const response = await postSigned(
      `${ingest.base}/users/${dee}/inbox`,
      JSON.stringify(note([`http://b.test/users/${dee}`])),
      carol,
    );
    expect(response.status).toBe(202);
    expect(recipients()).toEqual([dee]);
  });
});
