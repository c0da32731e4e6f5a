import { describe, expect, it } from "vitest";
import {
  type ChannelMember,
  checkChannelName,
  checkMessageEpoch,
  followersOf,
  planMembershipChange,
} from "./rules.js";

const alice = "https://a.example/users/alice";
const bob = "https://b.example/users/bob";
const carol = "https://a.example/users/carol";

const members: ChannelMember[] = [
  { leafIndex: 0, actorUrl: alice, acct: "acct:alice@a.example" },
  { leafIndex: 1, actorUrl: bob, acct: "acct:bob@b.example" },
  { leafIndex: 2, actorUrl: bob, acct: "acct:bob@b.example" },
  { leafIndex: 3, actorUrl: carol, acct: "acct:carol@a.example" },
];

describe("checkChannelName", () => {
  it("takes 1-100 characters counted as code points", () => {
    expect(checkChannelName("general")).toEqual({ ok: true, name: "general" });
    expect(checkChannelName("😀".repeat(100)).ok).toBe(true);
    expect(checkChannelName("x".repeat(101)).ok).toBe(false);
    expect(checkChannelName("").ok).toBe(false);
    expect(checkChannelName("   ").ok).toBe(false);
    expect(checkChannelName(42).ok).toBe(false);
  });

  it("refuses control and bidi characters, which could forge or hide what a client shows", () => {
    for (const name of ["lunch\nalice: hi", "x\u001b[8my", "a\u202eb", "a\u2066b", "tab\there", "c1\u009b"]) {
      expect(checkChannelName(name), JSON.stringify(name)).toMatchObject({
        ok: false,
        summary: "the channel name must not contain control or bidi characters",
      });
    }
    expect(checkChannelName("Café ☕ — lunch").ok).toBe(true);
  });
});

describe("checkMessageEpoch", () => {
  it("accepts the current epoch and `window` epochs before it", () => {
    expect(checkMessageEpoch(5, 5, 1).ok).toBe(true);
    expect(checkMessageEpoch(4, 5, 1).ok).toBe(true);
    expect(checkMessageEpoch(3, 5, 1).ok).toBe(false);
    expect(checkMessageEpoch(6, 5, 1).ok).toBe(false);
    expect(checkMessageEpoch(4, 5, 0).ok).toBe(false);
    expect(checkMessageEpoch(0, 0, 1).ok).toBe(true);
  });
});

describe("followersOf", () => {
  it("is the distinct actors of the member leaves, sorted", () => {
    expect(followersOf(members)).toEqual([alice, carol, bob].sort());
    expect(followersOf([])).toEqual([]);
  });
});

describe("planMembershipChange", () => {
  const base = { submitter: alice, members, committerLeaf: 0, removedLeaves: [], added: [] };

  it("adds clients that all name the object", () => {
    const dave = "https://b.example/users/dave";
    const plan = planMembershipChange({
      ...base,
      kind: "add",
      object: dave,
      added: [
        { leafIndex: 4, acct: "acct:dave@b.example", actorUrl: dave },
        { leafIndex: 5, acct: "acct:dave@b.example", actorUrl: dave },
      ],
    });
    if (!plan.ok) throw new Error(plan.summary);
    expect(followersOf(plan.members)).toEqual([alice, carol, bob, dave].sort());
    expect(plan.members.map((member) => member.leafIndex)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("refuses an Add with a client of someone else, an unresolved one, removals, or nothing added", () => {
    const dave = "https://b.example/users/dave";
    const other = planMembershipChange({
      ...base,
      kind: "add",
      object: dave,
      added: [{ leafIndex: 4, acct: "acct:erin@b.example", actorUrl: "https://b.example/users/erin" }],
    });
    expect(other.ok ? "" : other.summary).toContain("not https://b.example/users/dave");
    const unresolved = planMembershipChange({
      ...base,
      kind: "add",
      object: dave,
      added: [{ leafIndex: 4, acct: "acct:ghost@b.example", actorUrl: undefined }],
    });
    expect(unresolved.ok ? "" : unresolved.summary).toContain("does not resolve");
    const removing = planMembershipChange({
      ...base,
      kind: "add",
      object: dave,
      removedLeaves: [3],
      added: [{ leafIndex: 3, acct: "acct:dave@b.example", actorUrl: dave }],
    });
    expect(removing.ok).toBe(false);
    expect(planMembershipChange({ ...base, kind: "add", object: dave }).ok).toBe(false);
  });

  it("removes every client of the object and nothing else", () => {
    const plan = planMembershipChange({ ...base, kind: "remove", object: bob, removedLeaves: [1, 2] });
    if (!plan.ok) throw new Error(plan.summary);
    expect(followersOf(plan.members)).toEqual([alice, carol].sort());
    const partial = planMembershipChange({ ...base, kind: "remove", object: bob, removedLeaves: [1] });
    expect(partial.ok ? "" : partial.summary).toContain("remove all of them");
    const extra = planMembershipChange({ ...base, kind: "remove", object: bob, removedLeaves: [1, 2, 3] });
    expect(extra.ok ? "" : extra.summary).toContain(`client of ${carol}`);
    const none = planMembershipChange({ ...base, kind: "remove", object: bob });
    expect(none.ok).toBe(false);
    const adding = planMembershipChange({
      ...base,
      kind: "remove",
      object: bob,
      removedLeaves: [1, 2],
      added: [{ leafIndex: 1, acct: "acct:bob@b.example", actorUrl: bob }],
    });
    expect(adding.ok).toBe(false);
  });

  it("requires the commit to be signed by one of the submitter's clients", () => {
    const byBob = planMembershipChange({
      ...base,
      kind: "remove",
      object: carol,
      removedLeaves: [3],
      committerLeaf: 1,
    });
    expect(byBob.ok ? "" : byBob.summary).toContain(`client of ${bob}, not of the submitter ${alice}`);
    const blank = planMembershipChange({
      ...base,
      kind: "remove",
      object: carol,
      removedLeaves: [3],
      committerLeaf: 9,
    });
    expect(blank.ok).toBe(false);
  });
});
