import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelSummary, StoredMessage } from "@mimi/client";
import { afterAll, describe, expect, it } from "vitest";
import { isDmReference } from "../src/commands/dm.js";
import { channelLabel, eventLine, messageLine } from "../src/format.js";
import { main } from "../src/main.js";
import { HELP } from "../src/usage.js";
import { memoryIo } from "./testing-io.js";

const dir = mkdtempSync(join(tmpdir(), "mimi-cli-dm-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const group: ChannelSummary = {
  id: "c1",
  url: "http://a.test/channels/c1",
  name: "eqJsEElLULlQaugcQkD48Ioor8-yuae1qWvqPlNBlLk",
  status: "active",
  epoch: 2,
  waiting: false,
  dm: { participants: ["acct:alice@a.test", "acct:bob@b.test"] },
};

const message: StoredMessage = {
  id: "1a2b3c4d5e6f7a8b",
  activityId: "http://b.test/users/bob/activities/1",
  channelId: "c1",
  senderUri: "acct:bob@b.test",
  actor: "http://b.test/users/bob",
  timestamp: Date.UTC(2025, 0, 1, 12, 0),
  receivedAt: "2025-01-01T12:00:01.000Z",
  contentType: "text/plain",
  content: "hello alice",
  direction: "in",
  epoch: 2,
};

describe("group DMs in the CLI", () => {
  it("show a DM group by its participants, not by its conversation key", () => {
    expect(channelLabel(group).text).toBe("dm:alice@a.test,bob@b.test");
    expect(channelLabel({ name: "general" }).text).toBe("#general");
    expect(messageLine(group, message).text).toBe(
      "dm:alice@a.test,bob@b.test [2025-01-01 12:00] 1a2b3c4d bob@b.test: hello alice",
    );
    expect(eventLine({ type: "message", channel: group, message })?.text).toContain(
      "dm:alice@a.test,bob@b.test",
    );
  });

  it("read a conversation for an argument that starts with @ or acct:", () => {
    expect(isDmReference("@bob@b.test")).toBe(true);
    expect(isDmReference("@bob@b.test,carol@c.test")).toBe(true);
    expect(isDmReference("acct:bob@b.test")).toBe(true);
    expect(isDmReference("general")).toBe(false);
    expect(isDmReference("http://a.test/channels/c1")).toBe(false);
  });

  it("are in the help, and a dm without participants or text is a usage mistake", async () => {
    expect(HELP.text).toContain("mimi dm <user@domain>");
    expect(HELP.text).toContain("mimi dms");
    expect(HELP.text).toContain("mimi read @<user@domain>");
    for (const argv of [["dm"], ["dm", "hello"], ["dms", "extra"]]) {
      const io = memoryIo({ MIMI_HOME: join(dir, "nobody") });
      expect(await main(argv, io)).toBe(2);
      expect(io.errors.join("\n")).toMatch(/^mimi: usage: mimi dms?/);
    }
  });
});
