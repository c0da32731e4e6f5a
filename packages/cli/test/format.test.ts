import type { ChannelSummary, ClientEvent, StoredMessage } from "@mimi/client";
import { describe, expect, it } from "vitest";
import {
  channelLine,
  eventLine,
  inboxLine,
  messageLine,
  outOfSyncLine,
  shortId,
  shortTime,
} from "../src/format.js";

const ESC = "\u001b";

const channel: ChannelSummary = {
  id: "c1",
  url: "http://a.test/channels/c1",
  name: "general",
  status: "active",
  epoch: 3,
  waiting: false,
};

function message(content: string, timestamp = Date.UTC(2025, 0, 1, 12, 0)): StoredMessage {
  return {
    id: "1a2b3c4d5e6f7a8b",
    activityId: "http://b.test/users/bob/activities/1",
    channelId: "c1",
    senderUri: "acct:bob@b.test",
    actor: "http://b.test/users/bob",
    timestamp,
    receivedAt: "2025-01-01T12:00:01.000Z",
    contentType: "text/plain",
    content,
    direction: "in",
    epoch: 3,
  };
}

describe("event lines", () => {
  it("show a skipped event with its activity id and reason, escaped", () => {
    const skipped: ClientEvent = {
      type: "skipped",
      activityId: `http://evil.test/1${ESC}[2J`,
      reason: "bad message:\nforged",
    };
    expect(eventLine(skipped)?.text).toBe("! skipped http://evil.test/1\\x1b[2J: bad message:\\nforged");
  });

  it("name the channel of a skipped activity when it is one of ours", () => {
    const skipped: ClientEvent = {
      type: "skipped",
      activityId: "http://a.test/users/alice/activities/7",
      reason: "cannot decrypt: message epoch 2 > 1",
      channel,
    };
    expect(eventLine(skipped)?.text).toBe(
      "! #general: skipped http://a.test/users/alice/activities/7: cannot decrypt: message epoch 2 > 1",
    );
  });

  it("show key updates: a member's, and ours submitted by the client itself", () => {
    const updated: ClientEvent = { type: "keys-updated", channel, by: `http://b.test/users/bob${ESC}[2J` };
    expect(eventLine(updated)?.text).toBe(
      "#general: http://b.test/users/bob\\x1b[2J updated their keys (epoch 3)",
    );
    const submitted: ClientEvent = { type: "key-update-submitted", channel, activityId: "x", epoch: 4 };
    expect(eventLine(submitted)?.text).toBe("#general: updating your keys (due; epoch 4 once accepted)");
    const refused: ClientEvent = {
      type: "rejected",
      channel,
      activityId: "x",
      what: "update",
      reason: "not handled",
      retried: false,
    };
    expect(eventLine(refused)?.text).toBe("#general: key update rejected: not handled");
  });

  it("show an event of a type this CLI does not know, rather than nothing", () => {
    // The client may add kinds of events; this one is not in ClientEvent (yet).
    const undecryptable = {
      type: "undecryptable",
      channel,
      activityId: "http://b.test/users/bob/activities/9",
      reason: "no key for epoch 2\u202e",
    } as unknown as ClientEvent;
    expect(eventLine(undecryptable)?.text).toBe(
      "! undecryptable #general http://b.test/users/bob/activities/9: no key for epoch 2\\u202e",
    );
    const bare = { type: "something-new" } as unknown as ClientEvent;
    expect(eventLine(bare)?.text).toBe("! something-new");
  });

  it("escape names, actors and reasons", () => {
    const evil = { ...channel, name: `x\n${ESC}[8m#x` };
    const rejected: ClientEvent = {
      type: "rejected",
      channel: evil,
      activityId: "a1",
      what: "add",
      reason: "stale\u202eepoch",
      retried: false,
    };
    expect(eventLine(rejected)?.text).toBe("#x\\n\\x1b[8m#x: add rejected: stale\\u202eepoch");
    const added: ClientEvent = {
      type: "member-added",
      channel,
      actor: "http://b.test/users/bob",
      accts: ["acct:bob@b.test\u0085"],
      by: `http://a.test/users/alice${ESC}]0;title\u0007`,
    };
    expect(eventLine(added)?.text).toBe(
      "#general: bob@b.test\\x85 joined (added by http://a.test/users/alice\\x1b]0;title\\x07)",
    );
  });
});

describe("shortId", () => {
  it("shows hash digits of a MIMI content id, not the 01 every id starts with", () => {
    const id = `01${"7ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"}`;
    expect(shortId(id).text).toBe("7ce54837");
    expect(shortId(id, 10).text).toBe("7ce54837404c".slice(0, 10));
    // Anything that is not such an id is shown from its start.
    expect(shortId("0123abcd99").text).toBe("0123abcd");
  });
});

describe("messageLine", () => {
  it("indents the further lines of a message and escapes what a terminal would act on", () => {
    const printed = messageLine(
      channel,
      message(`hi\n#general [2025-01-01 12:00] alice@a.test: fake\u202e`),
    ).text;
    expect(printed.split("\n")).toEqual([
      "#general [2025-01-01 12:00] 1a2b3c4d bob@b.test: hi",
      "    #general [2025-01-01 12:00] alice@a.test: fake\\u202e",
    ]);
  });

  it("shows a timestamp outside years 0000-9999 as unknown instead of failing", () => {
    expect(shortTime(Number.MAX_SAFE_INTEGER)).toBe("????-??-?? ??:??");
    expect(shortTime(253402300800000)).toBe("????-??-?? ??:??");
    expect(messageLine(channel, message("hi", Number.MAX_SAFE_INTEGER)).text).toBe(
      "#general [????-??-?? ??:??] 1a2b3c4d bob@b.test: hi",
    );
    expect(shortTime(Date.UTC(2025, 0, 1, 12, 0))).toBe("2025-01-01 12:00");
  });
});

describe("channel and inbox lines", () => {
  it("escape a channel's name and note", () => {
    expect(
      channelLine({ ...channel, name: "a\u2066b", status: "failed", note: `refused${ESC}[8m` }).text,
    ).toBe("#a\\u2066b  failed (refused\\x1b[8m)  epoch 3  http://a.test/channels/c1");
  });

  it("mark a channel this device is out of sync on, since when and why, escaped", () => {
    const behind: ChannelSummary = {
      ...channel,
      epoch: 1,
      waiting: true,
      outOfSync: { reason: `cannot apply the Add commit yet${ESC}[2J`, since: "2025-01-01T12:00:30.000Z" },
    };
    expect(channelLine(behind).text).toBe(
      "#general  active, OUT OF SYNC since 2025-01-01 12:00 (cannot apply the Add commit yet\\x1b[2J)  epoch 1  http://a.test/channels/c1",
    );
    expect(outOfSyncLine(behind)?.text).toBe(
      "! #general is out of sync since 2025-01-01 12:00: cannot apply the Add commit yet\\x1b[2J (tried again on every sync)",
    );
    expect(outOfSyncLine(channel)).toBeUndefined();
    expect(outOfSyncLine({ ...behind, status: "left" })).toBeUndefined();
  });

  it("escape every field of a raw mailbox item", () => {
    const item = {
      cursor: 4,
      activityId: "http://evil.test/1\r",
      activity: {
        type: "Like\n",
        actor: "http://evil.test/u\u202e",
        object: { type: `Note${ESC}` },
        target: { id: "t\u009b" },
      },
      receivedAt: "2025-01-01T12:00:00.000Z",
    };
    expect(inboxLine(item).text).toBe(
      "4  Like\\n  http://evil.test/u\\u202e  object={Note\\x1b}  target=t\\x9b  http://evil.test/1\\r",
    );
  });
});
