import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AccountStore, type StoredMessage } from "../src/account-store.js";

function message(n: number, direction: "in" | "out" = "out"): StoredMessage {
  return {
    id: `m${n}`,
    activityId: `http://a.test/users/alice/activities/${n}`,
    channelId: "c1",
    senderUri: "acct:alice@a.test",
    actor: "http://a.test/users/alice",
    timestamp: 1_700_000_000_000 + n,
    receivedAt: new Date(1_700_000_000_000 + n).toISOString(),
    contentType: "text/plain",
    content: `message ${n}`,
    direction,
    ...(direction === "out" ? { status: "sent" as const } : {}),
    epoch: 1,
  };
}

describe("a channel's stored messages", () => {
  it("grows by one line per message or status, and reads back in order with statuses applied", async () => {
    const store = new AccountStore(mkdtempSync(join(tmpdir(), "mimi-store-")));
    await store.appendMessage("c1", message(1));
    await store.appendMessage("c1", message(2, "in"));
    const logPath = join(store.dir, "messages", "c1.jsonl");
    const sizeAfterTwo = statSync(logPath).size;
    await store.appendMessage("c1", message(3));
    await store.setMessageStatus("c1", message(1).activityId, "accepted");
    await store.setMessageStatus("c1", message(3).activityId, "rejected");
    // Appending never rewrites what is there.
    expect(
      readFileSync(logPath, "utf8").startsWith(readFileSync(logPath, "utf8").slice(0, sizeAfterTwo)),
    ).toBe(true);
    expect(readFileSync(logPath, "utf8").trim().split("\n")).toHaveLength(5);
    expect(statSync(logPath).mode & 0o777).toBe(0o600);
    const loaded = await store.loadMessages("c1");
    expect(loaded.map((m) => [m.content, m.status])).toEqual([
      ["message 1", "accepted"],
      ["message 2", undefined],
      ["message 3", "rejected"],
    ]);
    expect(await store.loadMessages("other")).toEqual([]);
  });

  it("reads the JSON array earlier versions wrote before the log, and skips a torn last line", async () => {
    const store = new AccountStore(mkdtempSync(join(tmpdir(), "mimi-store-")));
    await mkdir(join(store.dir, "messages"), { recursive: true });
    writeFileSync(join(store.dir, "messages", "c1.json"), JSON.stringify([message(1), message(2)]));
    await store.appendMessage("c1", message(3));
    await store.setMessageStatus("c1", message(2).activityId, "accepted");
    appendFileSync(join(store.dir, "messages", "c1.jsonl"), '{"message":{"id":"m4"');
    expect((await store.loadMessages("c1")).map((m) => [m.id, m.status])).toEqual([
      ["m1", "sent"],
      ["m2", "accepted"],
      ["m3", "sent"],
    ]);
    // The next append starts on a line of its own.
    await store.appendMessage("c1", message(5));
    expect((await store.loadMessages("c1")).map((m) => m.id)).toEqual(["m1", "m2", "m3", "m5"]);
  });

  it("reads the base64url ids earlier versions stored as hex, the form every id has now", async () => {
    const store = new AccountStore(mkdtempSync(join(tmpdir(), "mimi-store-")));
    const id = createHash("sha256").update("an old message").digest();
    const answer = createHash("sha256").update("its answer").digest();
    await mkdir(join(store.dir, "messages"), { recursive: true });
    writeFileSync(
      join(store.dir, "messages", "c1.json"),
      JSON.stringify([{ ...message(1), id: id.toString("base64url") }]),
    );
    await store.appendMessage("c1", {
      ...message(2),
      id: answer.toString("base64url"),
      inReplyTo: id.toString("base64url"),
    });
    expect((await store.loadMessages("c1")).map((m) => [m.id, m.inReplyTo])).toEqual([
      [id.toString("hex"), undefined],
      [answer.toString("hex"), id.toString("hex")],
    ]);
  });
});
