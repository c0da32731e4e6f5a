import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../src/account-store.js";
import {
  findMessage,
  messageView,
  shortIdLength,
  visibleMessageId,
} from "../src/conversation/message-view.js";

const ALICE = "acct:alice@a.test";
const BOB = "acct:bob@b.test";
const id = (n: number) => `01${n.toString(16).padStart(62, "0")}`;

let clock = 0;
function entry(n: number, senderUri: string, fields: Partial<StoredMessage> = {}): StoredMessage {
  clock += 1000;
  return {
    id: id(n),
    activityId: `http://x.test/activities/${n}`,
    channelId: "c",
    senderUri,
    actor: `http://x.test/${senderUri}`,
    timestamp: clock,
    receivedAt: new Date(clock).toISOString(),
    kind: "message",
    format: "mimi",
    contentType: "text/plain;charset=utf-8",
    content: `message ${n}`,
    direction: "in",
    epoch: 1,
    ...fields,
  };
}

describe("the message view", () => {
  it("shows an edit by the author in place, keeping the earlier text as a version", () => {
    const original = entry(1, ALICE, { content: "helo" });
    const edit = entry(2, ALICE, { kind: "edit", replaces: id(1), content: "hello" });
    const second = entry(3, ALICE, { kind: "edit", replaces: id(1), content: "hello!" });
    const [shown, ...rest] = messageView([original, edit, second]);
    expect(rest).toEqual([]);
    expect(shown).toMatchObject({ id: id(1), content: "hello!", editedAt: second.timestamp });
    expect(shown?.versions.map((v) => v.content)).toEqual(["helo", "hello"]);
    expect(shown?.versions[0]?.timestamp).toBe(original.timestamp);
  });

  it("ignores an edit or a deletion by anyone but the author", () => {
    const view = messageView([
      entry(1, ALICE, { content: "pay bob 5" }),
      entry(2, BOB, { kind: "edit", replaces: id(1), content: "pay bob 500" }),
      entry(3, BOB, { kind: "delete", replaces: id(1), content: "" }),
    ]);
    expect(view).toHaveLength(1);
    expect(view[0]).toMatchObject({ content: "pay bob 5", versions: [] });
    expect(view[0]?.deletedAt).toBeUndefined();
    expect(view[0]?.editedAt).toBeUndefined();
  });

  it("shows a deletion by the author as a deleted message without its text or versions", () => {
    const view = messageView([
      entry(1, ALICE, { content: "oops" }),
      entry(2, ALICE, { kind: "edit", replaces: id(1), content: "oops!" }),
      entry(3, ALICE, { kind: "delete", replaces: id(1), content: "" }),
      entry(4, ALICE, { kind: "edit", replaces: id(1), content: "back" }),
    ]);
    expect(view).toHaveLength(1);
    expect(view[0]).toMatchObject({ content: "", versions: [] });
    expect(view[0]?.deletedAt).toBeDefined();
    expect(view[0]?.editedAt).toBeUndefined();
  });

  it("attaches reactions to their message; a reaction's sender may withdraw or change it, no one else", () => {
    const view = messageView([
      entry(1, ALICE),
      entry(2, BOB, { kind: "reaction", inReplyTo: id(1), content: "👍" }),
      entry(3, ALICE, { kind: "reaction", inReplyTo: id(1), content: "❤" }),
      entry(4, ALICE, { kind: "delete", replaces: id(2) }),
      entry(5, BOB, { kind: "edit", replaces: id(2), content: "🎉" }),
      entry(6, BOB, { kind: "reaction", inReplyTo: id(1), content: "😂" }),
      entry(7, BOB, { kind: "delete", replaces: id(6) }),
    ]);
    expect(view).toHaveLength(1);
    expect(view[0]?.reactions.map((r) => [r.senderUri, r.reaction])).toEqual([
      [BOB, "🎉"],
      [ALICE, "❤"],
    ]);
  });

  it("shows what it cannot attach as it is: a long reaction, a reaction or edit of an unknown message", () => {
    const view = messageView([
      entry(1, ALICE),
      entry(2, BOB, { kind: "reaction", inReplyTo: id(1), content: "a long reply that says it reacts" }),
      entry(3, BOB, { kind: "reaction", inReplyTo: id(99), content: "👍" }),
      entry(4, BOB, { kind: "edit", replaces: id(98), content: "before you joined" }),
    ]);
    expect(view.map((m) => m.id)).toEqual([id(1), id(2), id(3), id(4)]);
    expect(view[0]?.reactions).toEqual([]);
  });

  it("ignores an id seen before, and our own edits and reactions the channel refused", () => {
    const view = messageView([
      entry(1, ALICE, { content: "first" }),
      { ...entry(2, BOB, { content: "replayed" }), id: id(1) },
      entry(3, ALICE, {
        kind: "edit",
        replaces: id(1),
        content: "refused",
        status: "rejected",
        direction: "out",
      }),
      entry(4, ALICE, {
        kind: "reaction",
        inReplyTo: id(1),
        content: "👍",
        status: "rejected",
        direction: "out",
      }),
    ]);
    expect(view).toHaveLength(1);
    expect(view[0]).toMatchObject({ content: "first", senderUri: ALICE, reactions: [], versions: [] });
  });

  it("reads lines stored by earlier versions (no kind) as messages", () => {
    const { kind: _kind, format: _format, ...old } = entry(1, ALICE);
    expect(messageView([old])).toMatchObject([{ id: id(1), reactions: [] }]);
  });
});

describe("a message reference", () => {
  const view = messageView([entry(0x1234, ALICE), entry(0x1235, ALICE), entry(0xabcd, BOB)]);

  it("is a full id or a unique prefix of 4 or more hex digits, in any case", () => {
    expect(findMessage(view, id(0xabcd))).toMatchObject({ ok: true, message: { senderUri: BOB } });
    const prefix = id(0xabcd).slice(0, 62);
    expect(findMessage(view, prefix.toUpperCase())).toMatchObject({ ok: true, message: { id: id(0xabcd) } });
  });

  it("is a prefix of the visible id too: the id without its hash-algorithm byte 01", () => {
    expect(visibleMessageId(id(0xabcd))).toBe(id(0xabcd).slice(2));
    expect(visibleMessageId("02".padEnd(64, "0"))).toBe("02".padEnd(64, "0"));
    expect(visibleMessageId("01abc")).toBe("01abc");
    const visible = visibleMessageId(id(0xabcd));
    expect(findMessage(view, visible.slice(0, 61))).toMatchObject({ ok: true, message: { id: id(0xabcd) } });
    expect(findMessage(view, "ffffffff")).toEqual({ ok: false, reason: "no message ffffffff" });
  });

  it("is refused when it is not hex, too short, unknown or ambiguous", () => {
    expect(findMessage(view, "xyz!")).toEqual({
      ok: false,
      reason: "xyz! is not a message id (4 or more hex digits, as mimi read shows them)",
    });
    expect(findMessage(view, "010").ok).toBe(false);
    expect(findMessage(view, "02ab")).toEqual({ ok: false, reason: "no message 02ab" });
    expect(findMessage(view, id(0x1234).slice(0, 63))).toEqual({
      ok: false,
      reason: `${id(0x1234).slice(0, 63)} is the start of 2 message ids; give more of it`,
    });
  });

  it("is shown with as many digits as tell the messages apart, at least 8", () => {
    expect(shortIdLength([`${"a".repeat(8)}1`, "b".repeat(9)])).toBe(8);
    expect(shortIdLength([`${"a".repeat(10)}1`, `${"a".repeat(10)}2`])).toBe(11);
    expect(shortIdLength([])).toBe(8);
    // Counted on the visible ids: the shared 01 does not tell anything apart.
    expect(shortIdLength([id(0x1234), id(0x1235)])).toBe(62);
  });
});
