import { describe, expect, it } from "vitest";
import type { ChannelRecord } from "../account-store.js";
import { conversationKey } from "./conversation.js";
import { dmOfCreate, isLiveDmGroup, knownDmGroup, participantsWithoutActor } from "./groups.js";

const ALICE = "https://a.example/users/alice";
const BOB = "https://b.example/users/bob";
const G = "https://a.example/channels/q7Vt0QpWq2mK9oXb3l1f8A";
const P = ["acct:alice@a.example", "acct:bob@b.example", "acct:carol@c.example"];
/** A DM group's Create as section 14.3 shows it (dmOfCreate reads no MLS). */
const createOf = (participants: readonly string[]) => ({
  type: "Create",
  actor: ALICE,
  target: G,
  object: {
    type: "Service",
    id: G,
    "mimi:kind": "dm",
    "mimi:participants": [...participants],
    "mimi:conversation": conversationKey(participants),
  },
});

function record(
  actors: Record<string, string>,
  dm: ChannelRecord["dm"] | null = { participants: P, conversation: conversationKey(P) },
): ChannelRecord {
  return {
    id: "q7Vt0QpWq2mK9oXb3l1f8A",
    url: G,
    name: "x",
    status: "active",
    epoch: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    actors,
    logSequence: 2,
    seen: [],
    ...(dm ? { dm } : {}),
  };
}

describe("dmOfCreate", () => {
  it("reads the participants and key of a DM group's Create", () => {
    expect(dmOfCreate(createOf(P))).toEqual({
      participants: P,
      conversation: conversationKey(P),
    });
  });

  it("is undefined for a channel's Create and for participants that are not P with its key", () => {
    const create = createOf(P);
    const withObject = (object: Record<string, unknown>) => ({
      ...create,
      object: { ...create.object, ...object },
    });
    expect(dmOfCreate(withObject({ "mimi:kind": undefined, name: "general" }))).toBeUndefined();
    expect(dmOfCreate(withObject({ "mimi:participants": [...P].reverse() }))).toBeUndefined();
    expect(dmOfCreate(withObject({ "mimi:participants": [P[0], P[0]] }))).toBeUndefined();
    expect(
      dmOfCreate(
        withObject({ "mimi:participants": [P[0]], "mimi:conversation": conversationKey([P[0] as string]) }),
      ),
    ).toBeUndefined();
    expect(dmOfCreate(withObject({ "mimi:participants": ["acct:Alice@a.example", P[1]] }))).toBeUndefined();
    expect(dmOfCreate(withObject({ "mimi:conversation": conversationKey(P.slice(0, 2)) }))).toBeUndefined();
    const many = Array.from({ length: 33 }, (_, i) => `acct:u${String(i).padStart(2, "0")}@a.example`);
    expect(
      dmOfCreate(withObject({ "mimi:participants": many, "mimi:conversation": conversationKey(many) })),
    ).toBeUndefined();
  });
});

describe("knownDmGroup", () => {
  it("needs every participant's actor", () => {
    const partial = record({ "acct:alice@a.example": ALICE, "acct:bob@b.example": BOB });
    expect(knownDmGroup(partial)).toBeUndefined();
    expect(participantsWithoutActor(partial)).toEqual(["acct:carol@c.example"]);
    const complete = record({ ...partial.actors, "acct:carol@c.example": "https://c.example/users/carol" });
    expect(knownDmGroup(complete)?.participantActors.get("acct:bob@b.example")).toBe(BOB);
    expect(knownDmGroup(complete)?.url).toBe(G);
    expect(participantsWithoutActor(complete)).toEqual([]);
  });

  it("is undefined for a channel", () => {
    expect(knownDmGroup(record({ "acct:alice@a.example": ALICE }, null))).toBeUndefined();
    expect(isLiveDmGroup(record({}, null))).toBe(false);
    expect(isLiveDmGroup({ ...record({}), status: "failed" })).toBe(false);
    expect(isLiveDmGroup({ ...record({}), status: "pending" })).toBe(true);
  });
});
