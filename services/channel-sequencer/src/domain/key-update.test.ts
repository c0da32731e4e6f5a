import { describe, expect, it } from "vitest";
import {
  checkCredentialChange,
  checkKeyUpdateCommit,
  checkKeyUpdateEpoch,
  checkKeyUpdateSubmitter,
} from "./key-update.js";
import type { ChannelMember } from "./rules.js";
import { readSubmission } from "./submission.js";

const ALICE = "https://a.example/users/alice";
const BOB = "https://b.example/users/bob";
const MALLORY = "https://m.example/users/mallory";
const members: ChannelMember[] = [
  { leafIndex: 0, actorUrl: ALICE, acct: "alice@a.example" },
  { leafIndex: 1, actorUrl: BOB, acct: "bob@b.example" },
  { leafIndex: 2, actorUrl: BOB, acct: "bob@b.example" },
];
const ownUpdate = { committerLeaf: 2, addedLeaves: [], removedLeaves: [], hasUpdatePath: true };

describe("reading a key update", () => {
  it("reads Update{mimi:KeyUpdate} with the member it names and its MLS objects", () => {
    expect(
      readSubmission({
        type: "Update",
        object: { type: "mimi:KeyUpdate", "mimi:member": BOB },
        "mimi:commit": { type: "PublicMessage" },
        "mimi:groupInfo": { type: "GroupInfo" },
      }),
    ).toEqual({
      kind: "keyUpdate",
      member: BOB,
      commit: { type: "PublicMessage" },
      groupInfo: { type: "GroupInfo" },
    });
    expect(readSubmission({ type: "Update", object: { type: "mimi:KeyUpdate" } })).toMatchObject({
      kind: "keyUpdate",
      member: undefined,
    });
  });
});

describe("checkKeyUpdateSubmitter", () => {
  it("accepts a member naming themself", () => {
    expect(checkKeyUpdateSubmitter(members, BOB, BOB)).toEqual({ ok: true });
  });

  it("refuses a non-member", () => {
    expect(checkKeyUpdateSubmitter(members, MALLORY, MALLORY)).toEqual({
      ok: false,
      reason: "notAMember",
      summary: `${MALLORY} is not a member of the channel`,
    });
  });

  it("refuses a key update naming another member, or nobody", () => {
    expect(checkKeyUpdateSubmitter(members, BOB, ALICE)).toMatchObject({ ok: false, reason: "notOwnLeaf" });
    expect(checkKeyUpdateSubmitter(members, BOB, undefined)).toMatchObject({
      ok: false,
      reason: "notOwnLeaf",
      summary: `a key update's mimi:member must be its actor ${BOB}`,
    });
  });
});

describe("checkKeyUpdateEpoch", () => {
  it("accepts the current epoch and refuses any other as stale", () => {
    expect(checkKeyUpdateEpoch(3n, 3n)).toEqual({ ok: true });
    expect(checkKeyUpdateEpoch(2n, 3n)).toEqual({
      ok: false,
      reason: "staleEpoch",
      summary: "the commit is for epoch 2, the channel is at epoch 3",
    });
    expect(checkKeyUpdateEpoch(4n, 3n)).toMatchObject({ ok: false, reason: "staleEpoch" });
  });
});

describe("checkKeyUpdateCommit", () => {
  it("accepts a commit by one of the submitter's leaves that only refreshes it", () => {
    expect(checkKeyUpdateCommit(members, BOB, ownUpdate)).toEqual({ ok: true });
    expect(checkKeyUpdateCommit(members, BOB, { ...ownUpdate, committerLeaf: 1 })).toEqual({ ok: true });
  });

  it("refuses a commit signed by someone else's leaf", () => {
    expect(checkKeyUpdateCommit(members, BOB, { ...ownUpdate, committerLeaf: 0 })).toEqual({
      ok: false,
      reason: "notOwnLeaf",
      summary: `the commit is signed by a client of ${ALICE}, not of the submitter ${BOB}`,
    });
    expect(checkKeyUpdateCommit(members, BOB, { ...ownUpdate, committerLeaf: 7 })).toEqual({
      ok: false,
      reason: "notOwnLeaf",
      summary: "the commit's signer (leaf 7) is not a member",
    });
  });

  it("refuses a commit that adds or removes", () => {
    for (const change of [{ addedLeaves: [3] }, { removedLeaves: [0] }]) {
      expect(checkKeyUpdateCommit(members, BOB, { ...ownUpdate, ...change })).toEqual({
        ok: false,
        reason: "changesMembership",
        summary: "a key update's commit must not add or remove members",
      });
    }
  });

  it("refuses a commit without an UpdatePath", () => {
    expect(checkKeyUpdateCommit(members, BOB, { ...ownUpdate, hasUpdatePath: false })).toEqual({
      ok: false,
      reason: "noUpdatePath",
      summary: "a key update's commit must carry an UpdatePath for the committer's leaf",
    });
  });
});

describe("checkCredentialChange (who may change a leaf's credential)", () => {
  const phone = { ok: true, acct: "acct:bob@b.example", clientId: "bob-phone" } as const;

  it("accepts a valid credential naming the same acct and the same client", () => {
    expect(checkCredentialChange(phone, { ...phone })).toEqual({ ok: true });
  });

  it("refuses another acct, another client of the same acct, an invalid or an unreadable credential", () => {
    const refusals = [
      [
        phone,
        { ...phone, acct: "acct:alice@a.example" },
        /names acct:alice@a.example, the leaf is acct:bob@b.example's/,
      ],
      [
        phone,
        { ...phone, clientId: "bob-laptop" },
        /names client bob-laptop, the leaf is client bob-phone's/,
      ],
      [
        phone,
        { ok: false, detail: "untrustedIssuer: not signed by b.example's CA" },
        /not valid: untrustedIssuer/,
      ],
      [{ ok: false, detail: "credential type basic is not x509" }, phone, /names nobody/],
    ] as const;
    for (const [previous, next, summary] of refusals) {
      expect(checkCredentialChange(previous, next)).toEqual({
        ok: false,
        reason: "credentialChanged",
        summary: expect.stringMatching(summary),
      });
    }
  });
});
