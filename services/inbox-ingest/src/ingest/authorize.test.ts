import { type ActivityEnvelope, activityEnvelopeSchema, providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import type { InboxAuthorization, InboxDenyReason } from "../domain/authorization.js";
import { signatureRefusal } from "./authenticate.js";
import { authorizeInbox, authorizeOutbox, inboxAuthorizationResult } from "./authorize.js";

const urls = providerUrls("b.example", "https://b.example");
const carol = "https://remote.example/users/carol";
const channel = "https://remote.example/channels/room";
const signer = (keyOwner: string) => ({ keyId: `${keyOwner}#main-key`, keyOwner });

function activity(fields: Record<string, unknown> = {}): ActivityEnvelope {
  return activityEnvelopeSchema.parse({
    id: "https://remote.example/activities/1",
    type: "Create",
    actor: carol,
    ...fields,
  });
}

describe("the authorize step (inboxes)", () => {
  it("answers each denial of the rule with its status, and logs who was refused", () => {
    const statuses: Record<InboxDenyReason, number> = {
      keyOwnerMismatch: 401,
      notForwardedByChannel: 401,
      notChannelMember: 401,
      channelMembershipUnknown: 401,
      activityIdOriginMismatch: 403,
      channelActivityNotFromChannel: 403,
      ambiguousTarget: 400,
    };
    for (const [reason, status] of Object.entries(statuses) as Array<[InboxDenyReason, number]>) {
      const decision: InboxAuthorization = { allow: false, reason, detail: "why" };
      expect(inboxAuthorizationResult(decision, signer(carol), "https://x/1"), reason).toMatchObject({
        kind: "refused",
        reason,
        problem: { status, detail: "why" },
        note: { level: "info", fields: { activityId: "https://x/1", signer: carol, reason } },
      });
    }
  });

  it("lets an author through as the sender, and a forward with the members read for the decision", () => {
    expect(inboxAuthorizationResult({ allow: true, basis: "author" }, signer(carol), "a")).toEqual({
      kind: "continue",
      value: { sender: carol, basis: "author" },
    });
    const forward: InboxAuthorization = { allow: true, basis: "channelForward", channel, members: [carol] };
    expect(inboxAuthorizationResult(forward, signer(channel), "a")).toEqual({
      kind: "continue",
      value: { sender: channel, basis: "channelForward", members: [carol] },
    });
  });

  it("refuses with a retryable 503 when the membership read fails in a way that may pass", async () => {
    const result = await authorizeInbox(
      {
        urls,
        channelMembers: async () => {
          throw new Error("collection unreachable");
        },
      },
      {
        signer: signer(channel),
        activity: activity({ target: channel, to: [`${channel}/followers`] }),
        target: { kind: "shared" },
      },
    );
    expect(result).toMatchObject({
      kind: "refused",
      reason: "membershipCheckFailed",
      problem: { status: 503, headers: { "retry-after": "60" } },
      note: { level: "warn" },
    });
  });

  it("asks the rule whether a channel is this provider's (an author's submission at the shared inbox)", async () => {
    const local = "https://b.example/channels/room";
    const submission = activity({ target: local, to: [`${local}/followers`] });
    const result = await authorizeInbox(
      { urls, channelMembers: async () => ({ readable: false, detail: "unused" }) },
      { signer: signer(carol), activity: submission, target: { kind: "shared" } },
    );
    expect(result).toEqual({ kind: "continue", value: { sender: carol, basis: "author" } });
  });
});

describe("the authorize step (outbox)", () => {
  const bob = "https://b.example/users/bob";
  const submission = (fields: Record<string, unknown>, tokenOwner = "bob") => ({
    username: "bob",
    tokenOwner,
    actor: bob,
    activity: activity({ id: `${bob}/activities/1`, actor: bob, ...fields }),
  });

  it("refuses the rule's denials with their statuses", () => {
    expect(authorizeOutbox(submission({}, "alice"))).toMatchObject({
      kind: "refused",
      problem: { status: 403, extra: { reason: "wrongUser" } },
    });
    expect(authorizeOutbox(submission({ actor: "https://b.example/users/alice" }))).toMatchObject({
      kind: "refused",
      problem: { status: 403, extra: { reason: "actorMismatch" } },
    });
    expect(authorizeOutbox(submission({ id: "https://b.example/activities/1" }))).toMatchObject({
      kind: "refused",
      problem: { status: 400, extra: { reason: "activityIdNotLocal" } },
    });
    expect(authorizeOutbox(submission({}))).toEqual({ kind: "continue", value: undefined });
  });
});

describe("a signature refusal", () => {
  it("names the verifier's reason, answers 401 with the challenge, and logs the verifier's detail", () => {
    const refused = signatureRefusal({ ok: false, reason: "digestMismatch", detail: "digest differs" }, "a");
    expect(refused).toMatchObject({
      reason: "digestMismatch",
      problem: { status: 401, detail: "digest differs" },
      note: { level: "info", fields: { activityId: "a", reason: "digestMismatch" } },
    });
    expect(refused.problem.headers["www-authenticate"]).toContain("Signature");
  });

  it("keeps why a key could not be fetched out of the answer", () => {
    const detail = "connect to 10.0.0.7 refused (blockedAddress)";
    const refused = signatureRefusal({ ok: false, reason: "keyFetchError", detail }, "a");
    expect(refused.problem.detail).toBe("the signature's key could not be fetched or used");
    expect(JSON.stringify(refused.problem.extra)).not.toContain("10.0.0.7");
    expect(refused.note?.fields.detail).toBe(detail);
  });
});
