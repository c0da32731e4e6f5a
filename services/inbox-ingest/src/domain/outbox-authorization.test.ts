import { type ActivityEnvelope, activityEnvelopeSchema } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { authorizeOutboxSubmission } from "./outbox-authorization.js";

const BOB = "https://b.example/users/bob";

function activity(fields: Record<string, unknown> = {}): ActivityEnvelope {
  return activityEnvelopeSchema.parse({ id: `${BOB}/activities/1`, type: "Create", actor: BOB, ...fields });
}

const submit = (fields: Record<string, unknown> = {}, tokenOwner = "bob") =>
  authorizeOutboxSubmission({ username: "bob", tokenOwner, actor: BOB, activity: activity(fields) });

describe("authorizeOutboxSubmission", () => {
  it("allows the user's own activity, named under its actor URL", () => {
    expect(submit()).toEqual({ allow: true });
    expect(submit({ actor: { id: BOB, type: "Person" } })).toEqual({ allow: true });
  });

  it("refuses another user's token, then another actor, then an id not under the actor", () => {
    expect(submit({ actor: "https://b.example/users/alice" }, "alice")).toMatchObject({
      reason: "wrongUser",
    });
    expect(submit({ actor: "https://b.example/users/alice" })).toMatchObject({ reason: "actorMismatch" });
    for (const id of [
      "https://remote.example/activities/1",
      "https://b.example/users/alice/activities/1",
      "https://b.example/users/bobby/activities/1",
      "https://b.example/activities/1",
    ]) {
      expect(submit({ id }), id).toMatchObject({ allow: false, reason: "activityIdNotLocal" });
    }
  });
});
