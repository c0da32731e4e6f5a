import { describe, expect, it } from "vitest";
import { checkDeviceEpoch, checkDeviceSubmitter, planDeviceJoin, planDeviceRemoval } from "./devices.js";
import type { ChannelMember } from "./rules.js";
import { readSubmission } from "./submission.js";

const ALICE = "https://a.example/users/alice";
const BOB = "https://b.example/users/bob";
const DAVE = "https://b.example/users/dave";
const members: ChannelMember[] = [
  { leafIndex: 0, actorUrl: ALICE, acct: "acct:alice@a.example" },
  { leafIndex: 1, actorUrl: BOB, acct: "acct:bob@b.example" },
];

describe("reading a device activity", () => {
  it("reads Add{mimi:Device} and Remove{mimi:Device} apart from member Adds and Removes", () => {
    const body = {
      object: { type: "mimi:Device", "mimi:member": BOB },
      "mimi:commit": { type: "PublicMessage" },
      "mimi:groupInfo": { type: "GroupInfo" },
    };
    expect(readSubmission({ type: "Add", ...body })).toEqual({
      kind: "deviceJoin",
      member: BOB,
      commit: { type: "PublicMessage" },
      groupInfo: { type: "GroupInfo" },
    });
    expect(readSubmission({ type: "Remove", ...body })).toMatchObject({ kind: "deviceRemove", member: BOB });
    expect(readSubmission({ type: "Add", object: BOB })).toMatchObject({ kind: "add", object: BOB });
  });
});

describe("checkDeviceSubmitter", () => {
  it("accepts a member naming themself", () => {
    expect(checkDeviceSubmitter(members, BOB, BOB)).toEqual({ ok: true });
  });
  it("refuses a non-member (a removed user, a stranger) before any MLS work", () => {
    expect(checkDeviceSubmitter(members, DAVE, DAVE)).toMatchObject({ ok: false, reason: "notAMember" });
  });
  it("refuses a device named for someone else", () => {
    expect(checkDeviceSubmitter(members, BOB, ALICE)).toMatchObject({ ok: false, reason: "notOwnDevice" });
    expect(checkDeviceSubmitter(members, BOB, undefined)).toMatchObject({
      ok: false,
      reason: "notOwnDevice",
    });
  });
});

describe("checkDeviceEpoch", () => {
  it("accepts only the current epoch", () => {
    expect(checkDeviceEpoch(4n, 4n)).toEqual({ ok: true });
    expect(checkDeviceEpoch(3n, 4n)).toMatchObject({ ok: false, reason: "staleEpoch" });
  });
});

describe("planDeviceJoin", () => {
  it("adds the joiner's leaf for the submitter; the followers stay", () => {
    const plan = planDeviceJoin(members, BOB, {
      joinerAcct: "acct:bob@b.example",
      joinerLeaf: 2,
      removedLeaves: [],
    });
    expect(plan).toEqual({
      ok: true,
      members: [...members, { leafIndex: 2, actorUrl: BOB, acct: "acct:bob@b.example" }],
    });
  });
  it("refuses a credential of another user of the same domain", () => {
    expect(
      planDeviceJoin(members, BOB, { joinerAcct: "acct:dave@b.example", joinerLeaf: 2, removedLeaves: [] }),
    ).toMatchObject({ ok: false, reason: "notOwnDevice" });
  });
  it("refuses a credential from another domain than the user's, whatever its name", () => {
    expect(
      planDeviceJoin(members, BOB, { joinerAcct: "acct:bob@evil.example", joinerLeaf: 2, removedLeaves: [] }),
    ).toMatchObject({ ok: false, reason: "wrongDomain" });
  });
  it("lets a resync replace only the submitter's own leaf", () => {
    expect(
      planDeviceJoin(members, BOB, { joinerAcct: "acct:bob@b.example", joinerLeaf: 1, removedLeaves: [1] }),
    ).toEqual({ ok: true, members });
    expect(
      planDeviceJoin(members, BOB, { joinerAcct: "acct:bob@b.example", joinerLeaf: 0, removedLeaves: [0] }),
    ).toMatchObject({ ok: false, reason: "notOwnDevice" });
  });
});

describe("planDeviceRemoval", () => {
  const withLaptop = [...members, { leafIndex: 2, actorUrl: BOB, acct: "acct:bob@b.example" }];
  it("removes the submitter's other device, committed by one of their devices", () => {
    expect(
      planDeviceRemoval(withLaptop, BOB, { committerLeaf: 1, addedLeaves: [], removedLeaves: [2] }),
    ).toEqual({
      ok: true,
      members,
    });
  });
  it("refuses a commit by someone else's device, one that removes another member, or one that adds", () => {
    expect(
      planDeviceRemoval(withLaptop, BOB, { committerLeaf: 0, addedLeaves: [], removedLeaves: [2] }),
    ).toMatchObject({ ok: false, reason: "notOwnDevice" });
    expect(
      planDeviceRemoval(withLaptop, BOB, { committerLeaf: 1, addedLeaves: [], removedLeaves: [0] }),
    ).toMatchObject({ ok: false, reason: "notOwnDevice" });
    expect(
      planDeviceRemoval(withLaptop, BOB, { committerLeaf: 1, addedLeaves: [3], removedLeaves: [2] }),
    ).toMatchObject({ ok: false, reason: "changesMembership" });
    expect(
      planDeviceRemoval(withLaptop, BOB, { committerLeaf: 1, addedLeaves: [], removedLeaves: [] }),
    ).toMatchObject({ ok: false, reason: "changesMembership" });
  });
});
