import { providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { isDeleteOfSelf, routeOutboxActivity } from "./outbox-routing.js";

/**
 * The Delete of a user's own actor (their account being deleted) is delivered signed by the instance
 * actor: the account's key goes with it, and peers accept the origin's instance actor for it.
 */
const urls = providerUrls("b.example", "https://b.example");
const BOB = "https://b.example/users/bob";
const FAR_CHANNEL = "https://a.example/channels/c1";

const deleteOfBob = (fields: Record<string, unknown> = {}) => ({
  id: `${BOB}/activities/1`,
  type: "Delete",
  actor: BOB,
  object: BOB,
  to: [FAR_CHANNEL],
  ...fields,
});

describe("the Delete of the user's own actor", () => {
  it("is delivered to its audience signed by the instance actor", () => {
    expect(routeOutboxActivity(urls, deleteOfBob())).toEqual({
      kind: "delivery",
      audience: [FAR_CHANNEL],
      activity: deleteOfBob(),
      signer: "instanceActor",
    });
  });

  it("is still a channel submission when it names a channel of this provider", () => {
    const local = urls.channel("c2");
    expect(routeOutboxActivity(urls, deleteOfBob({ to: [local] }))).toEqual({
      kind: "channel",
      channelId: "c2",
      newChannel: false,
    });
  });

  it("is signed by the user for any other Delete, and for one that names a target", () => {
    const others = [
      deleteOfBob({ object: `${BOB}/notes/1` }),
      deleteOfBob({ object: "https://b.example/users/alice" }),
      deleteOfBob({ object: [BOB, `${BOB}/notes/1`] }),
      deleteOfBob({ target: "https://a.example/users/dan" }),
      { ...deleteOfBob(), type: "Undo" },
    ];
    for (const activity of others) {
      expect(isDeleteOfSelf(activity), JSON.stringify(activity)).toBe(false);
      const route = routeOutboxActivity(urls, activity);
      expect(route.kind).toBe("delivery");
      expect(route).not.toHaveProperty("signer");
    }
  });

  it("recognises the actor and object given as objects with ids", () => {
    expect(isDeleteOfSelf(deleteOfBob({ actor: { id: BOB }, object: { id: BOB, type: "Person" } }))).toBe(
      true,
    );
  });
});
