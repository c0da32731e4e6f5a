import { type ActivityEnvelope, activityEnvelopeSchema } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { authorizeInboxDelivery } from "./authorization.js";

/**
 * The Delete of an actor (an account deleted on its provider): only the actor itself or its origin's
 * instance actor may say it; nobody on another origin, nor another user of the same one.
 */
const bob = "https://b.example/users/bob";

function deleteOf(object: unknown, fields: Record<string, unknown> = {}): ActivityEnvelope {
  return activityEnvelopeSchema.parse({
    id: "https://b.example/users/bob#delete",
    type: "Delete",
    actor: bob,
    object,
    to: ["https://www.w3.org/ns/activitystreams#Public"],
    ...fields,
  });
}

const signedBy = (keyOwner: string) => ({ keyId: `${keyOwner}#main-key`, keyOwner });
const at = [{ kind: "shared" } as const, { kind: "user", username: "alice" } as const];

describe("a Delete of an actor", () => {
  it("is accepted signed by the actor, or by the instance actor of the actor's origin", async () => {
    for (const target of at) {
      for (const signer of [bob, "https://b.example/actor"]) {
        const decision = await authorizeInboxDelivery({
          signer: signedBy(signer),
          activity: deleteOf(bob),
          target,
        });
        expect(decision, `${signer} at ${target.kind}`).toEqual({ allow: true, basis: "author" });
      }
    }
  });

  it("is refused from a hostile provider's instance actor or users, and from another user of the origin", async () => {
    for (const signer of [
      "https://evil.example/actor",
      "https://evil.example/users/mallory",
      "https://b.example/users/carol",
    ]) {
      const decision = await authorizeInboxDelivery({
        signer: signedBy(signer),
        activity: deleteOf(bob),
        target: { kind: "shared" },
      });
      expect(decision, signer).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
    }
  });

  it("lets the instance actor delete nothing else in the actor's name", async () => {
    const instance = signedBy("https://b.example/actor");
    const note = await authorizeInboxDelivery({
      signer: instance,
      activity: deleteOf("https://b.example/users/bob/notes/1"),
      target: { kind: "shared" },
    });
    expect(note).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
    const aboutChannel = await authorizeInboxDelivery({
      signer: instance,
      activity: deleteOf(bob, { target: "https://a.example/channels/c" }),
      target: { kind: "shared" },
    });
    expect(aboutChannel).toMatchObject({ allow: false });
  });

  it("keeps the id rule: an id on another origin than the actor's is refused", async () => {
    const decision = await authorizeInboxDelivery({
      signer: signedBy("https://b.example/actor"),
      activity: deleteOf(bob, { id: "https://evil.example/delete/1" }),
      target: { kind: "shared" },
    });
    expect(decision).toMatchObject({ allow: false, reason: "activityIdOriginMismatch" });
  });
});
