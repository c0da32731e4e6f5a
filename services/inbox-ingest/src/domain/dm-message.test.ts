import { describe, expect, it } from "vitest";
import {
  checkDmMessage,
  conversationKey,
  type DmCheckContext,
  type DmGroup,
  isAheadOf,
  isDmMessageShape,
  isParticipantSet,
  participantSet,
  privateMessageHeader,
  readDmGroup,
  readDmMessage,
} from "./dm-message.js";

const ALICE = "https://a.example/users/alice";
const BOB = "https://b.example/users/bob";
const CAROL = "https://c.example/users/carol";
const GROUP = "https://a.example/channels/q7Vt0QpWq2mK9oXb3l1f8A";
const GROUP_ID = Buffer.from("q7Vt0QpWq2mK9oXb3l1f8A", "base64url");
const P = ["acct:alice@a.example", "acct:bob@b.example", "acct:carol@c.example"];

/** An MLSMessage holding a PrivateMessage's clear header (the ciphertext is not read here). */
function privateMessage(groupId: Uint8Array, epoch: bigint): Uint8Array {
  const epochBytes = new Uint8Array(8);
  new DataView(epochBytes.buffer).setBigUint64(0, epoch);
  return new Uint8Array([0, 1, 0, 2, groupId.length, ...groupId, ...epochBytes, 1, 0, 0x40, 2, 9, 9]);
}

function groupDocument(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: GROUP,
    type: "Service",
    "mimi:kind": "dm",
    "mimi:groupId": "q7Vt0QpWq2mK9oXb3l1f8A",
    "mimi:epoch": 3,
    "mimi:participants": P,
    "mimi:conversation": conversationKey(P),
    "mimi:participantActors": { [P[0] as string]: ALICE, [P[1] as string]: BOB, [P[2] as string]: CAROL },
    ...overrides,
  };
}

function activity(overrides: Record<string, unknown> = {}, epoch = 3n): Record<string, unknown> {
  return {
    id: `${BOB}/activities/1`,
    type: "Create",
    actor: BOB,
    context: GROUP,
    to: [ALICE, BOB, CAROL],
    object: {
      type: "PrivateMessage",
      mediaType: "message/mls",
      encoding: "base64",
      content: Buffer.from(privateMessage(GROUP_ID, epoch)).toString("base64"),
    },
    ...overrides,
  };
}

const atB: DmCheckContext = {
  domain: "b.example",
  localActorOf: (acct) => (acct === "acct:bob@b.example" ? BOB : undefined),
  epochWindow: 1,
};

function group(): DmGroup {
  const read = readDmGroup(groupDocument(), GROUP, 32);
  if (read === undefined) throw new Error("the fixture group does not read");
  return read;
}

function check(input: Record<string, unknown>, g: DmGroup | "none" = group(), context = atB) {
  const message = readDmMessage(input, 32);
  if (!message.ok) return message;
  return checkDmMessage(message.value, g === "none" ? undefined : g, context);
}

describe("participant sets and conversation keys", () => {
  it("lowercases, dedupes and sorts whatever spelling of acct is given", () => {
    expect(
      participantSet(["@Carol@C.example", "bob@b.example", "acct:alice@a.example", "BOB@b.example"]),
    ).toEqual(P);
    expect(participantSet(["alice@a.example", "not an acct"])).toBeUndefined();
    expect(isParticipantSet(P)).toBe(true);
    expect(isParticipantSet([P[1] as string, P[0] as string])).toBe(false);
    expect(isParticipantSet([P[0] as string, P[0] as string])).toBe(false);
    expect(isParticipantSet(["acct:Alice@a.example"])).toBe(false);
  });

  it("computes the key of the protocol page's example", () => {
    expect(conversationKey(["acct:alice@a.example", "acct:bob@b.example"])).toBe(
      "eqJsEElLULlQaugcQkD48Ioor8-yuae1qWvqPlNBlLk",
    );
    expect(conversationKey(P)).toBe("u7xY8BKxt9fOmoPV-FqyAk18VV-89kAdwCYhk_Z7hdU");
  });
});

describe("reading a DM group's actor document", () => {
  it("reads a well-formed one", () => {
    const g = group();
    expect(g.participants).toEqual(P);
    expect(g.participantActors.get("acct:carol@c.example")).toBe(CAROL);
    expect(g.epoch).toBe(3);
  });

  it("refuses a channel, another id, a bad key, a missing or shared actor, too many participants", () => {
    expect(readDmGroup(groupDocument({ "mimi:kind": undefined }), GROUP, 32)).toBeUndefined();
    expect(readDmGroup(groupDocument(), `${GROUP}x`, 32)).toBeUndefined();
    expect(readDmGroup(groupDocument({ "mimi:conversation": "x" }), GROUP, 32)).toBeUndefined();
    expect(
      readDmGroup(groupDocument({ "mimi:participantActors": { [P[0] as string]: ALICE } }), GROUP, 32),
    ).toBeUndefined();
    const shared = { [P[0] as string]: ALICE, [P[1] as string]: ALICE, [P[2] as string]: CAROL };
    expect(readDmGroup(groupDocument({ "mimi:participantActors": shared }), GROUP, 32)).toBeUndefined();
    expect(readDmGroup(groupDocument(), GROUP, 2)).toBeUndefined();
    expect(readDmGroup(groupDocument({ "mimi:epoch": -1 }), GROUP, 32)).toBeUndefined();
  });
});

describe("a DM message's shape", () => {
  it("is a Create of a PrivateMessage with a context and no target", () => {
    expect(isDmMessageShape(activity())).toBe(true);
    expect(isDmMessageShape(activity({ target: GROUP }))).toBe(false);
    expect(isDmMessageShape(activity({ context: undefined }))).toBe(false);
  });

  it("refuses what section 14.4 does not allow as dmMalformed", () => {
    for (const bad of [
      activity({ context: "not a url" }),
      activity({ cc: [CAROL] }),
      activity({ to: [ALICE] }),
      activity({ to: "https://a.example/users/alice" }),
      activity({
        object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "@@" },
      }),
    ]) {
      const read = readDmMessage(bad, 32);
      expect(read.ok).toBe(false);
      if (!read.ok) expect([read.status, read.reason]).toEqual([400, "dmMalformed"]);
    }
  });
});

describe("the PrivateMessage's clear header", () => {
  it("reads group id and epoch, and nothing from other wire formats", () => {
    const header = privateMessageHeader(privateMessage(GROUP_ID, 7n));
    expect(header?.epoch).toBe(7n);
    expect(Buffer.from(header?.groupId ?? []).equals(GROUP_ID)).toBe(true);
    const publicMessage = privateMessage(GROUP_ID, 7n);
    publicMessage[3] = 1;
    expect(privateMessageHeader(publicMessage)).toBeUndefined();
    expect(privateMessageHeader(new Uint8Array([0, 1, 0, 2, 40, 1]))).toBeUndefined();
  });
});

describe("the checks of a DM message", () => {
  it("accepts a participant's message to exactly the participants, in the group and its window", () => {
    expect(check(activity())).toEqual({ ok: true });
    expect(check(activity({ to: [CAROL, ALICE, BOB] }))).toEqual({ ok: true });
    expect(check(activity({}, 2n))).toEqual({ ok: true });
  });

  it("refuses each hostile input with its reason", () => {
    const expectRefusal = (result: ReturnType<typeof check>, status: number, reason: string) => {
      expect(result.ok).toBe(false);
      if (!result.ok) expect([result.status, result.reason]).toEqual([status, reason]);
    };
    expectRefusal(check(activity(), "none"), 403, "dmNotADmGroup");
    expectRefusal(check(activity({ actor: "https://d.example/users/dave" })), 403, "dmSenderNotParticipant");
    expectRefusal(check(activity({ to: [ALICE, BOB] })), 403, "dmRecipientsMismatch");
    expectRefusal(
      check(activity({ to: [ALICE, BOB, CAROL, "https://d.example/users/dave"] })),
      403,
      "dmRecipientsMismatch",
    );
    expectRefusal(check(activity({ to: [ALICE, BOB, BOB] })), 403, "dmRecipientsMismatch");
    const otherGroup = activity({
      object: {
        type: "PrivateMessage",
        mediaType: "message/mls",
        encoding: "base64",
        content: Buffer.from(privateMessage(new Uint8Array(16), 3n)).toString("base64"),
      },
    });
    expectRefusal(check(otherGroup), 403, "dmWrongGroup");
    expectRefusal(check(activity({}, 1n)), 409, "dmEpochOutOfWindow");
    // Ahead of the group as last read: it may have moved on, so the sender is asked to try again.
    expectRefusal(check(activity({}, 4n)), 503, "dmEpochAhead");
  });

  it("refuses a group that names another actor for one of this provider's users", () => {
    const lying = readDmGroup(
      groupDocument({
        "mimi:participantActors": {
          [P[0] as string]: ALICE,
          [P[1] as string]: "https://a.example/users/fakebob",
          [P[2] as string]: CAROL,
        },
      }),
      GROUP,
      32,
    );
    const result = check(activity({ actor: ALICE }), lying ?? "none");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe("dmParticipantsUnverified");
  });

  it("knows when a message is ahead of a cached group", () => {
    expect(isAheadOf(privateMessage(GROUP_ID, 4n), group())).toBe(true);
    expect(isAheadOf(privateMessage(GROUP_ID, 3n), group())).toBe(false);
  });
});
