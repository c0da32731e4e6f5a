import { type ActivityEnvelope, activityEnvelopeSchema, providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { type AuthorizedDelivery, routeInboxDelivery } from "./inbox-routing.js";

const urls = providerUrls("b.example", "https://b.example");
const carol = "https://remote.example/users/carol";
const channel = "https://remote.example/channels/room";
const BOB = "https://b.example/users/bob";
const ALICE = "https://b.example/users/alice";
const author: AuthorizedDelivery = { sender: carol, basis: "author" };

function activity(fields: Record<string, unknown> = {}): ActivityEnvelope {
  return activityEnvelopeSchema.parse({
    id: "https://remote.example/activities/1",
    type: "Create",
    actor: carol,
    to: [BOB],
    ...fields,
  });
}

describe("routeInboxDelivery", () => {
  it("gives an author's activity at a personal inbox to the inbox owner, whatever it addresses", () => {
    const route = routeInboxDelivery(
      urls,
      { kind: "user", username: "bob" },
      author,
      activity({ to: [ALICE] }),
    );
    expect(route).toEqual({ kind: "owner", username: "bob", dedupeTarget: "user:bob" });
  });

  it("gives a forward to the channel's local members and the object of an Add, keyed by the forward wherever it arrives", () => {
    const forward: AuthorizedDelivery = {
      sender: channel,
      basis: "channelForward",
      members: [carol, BOB, "https://b.example/users/dan"],
    };
    const added = activity({ type: "Add", object: ALICE, target: channel, to: [`${channel}/followers`] });
    for (const target of [{ kind: "user", username: "erin" } as const, { kind: "shared" } as const]) {
      // The personal inbox it was POSTed to (erin's) adds nobody: a channel reaches only its members.
      expect(routeInboxDelivery(urls, target, forward, added), target.kind).toEqual({
        kind: "forward",
        channel,
        candidates: ["bob", "dan", "alice"],
        dedupeTarget: `forward:${channel}`,
      });
    }
  });

  it("gives an author's activity at the shared inbox to the local users it names", () => {
    const route = routeInboxDelivery(
      urls,
      { kind: "shared" },
      author,
      activity({ to: [BOB, carol], bcc: [ALICE, BOB] }),
    );
    expect(route).toEqual({ kind: "addressed", candidates: ["bob", "alice"], dedupeTarget: "shared" });
  });

  it("sends a submission at the shared inbox to the local channel it names, keyed by the channel", () => {
    const room = "https://b.example/channels/room";
    for (const fields of [{ target: room }, { to: [`${room}/followers`] }]) {
      expect(routeInboxDelivery(urls, { kind: "shared" }, author, activity(fields))).toEqual({
        kind: "channel",
        channelId: "room",
        via: "sharedInbox",
        dedupeTarget: "channel:room",
      });
    }
  });

  it("refuses a submission at the shared inbox naming several local channels", () => {
    const route = routeInboxDelivery(
      urls,
      { kind: "shared" },
      author,
      activity({ to: ["https://b.example/channels/one/followers", "https://b.example/channels/two"] }),
    );
    expect(route).toMatchObject({ kind: "invalid", reason: "ambiguousChannel" });
  });

  it("sends a message at a channel inbox to that channel with or without target, another channel's included", () => {
    // The inbox names the channel; its sequencer supplies a missing target and refuses a foreign one.
    const message = { type: "Create", object: { type: "PrivateMessage" }, to: [] };
    for (const fields of [{}, { target: "https://b.example/channels/other" }]) {
      const route = routeInboxDelivery(
        urls,
        { kind: "channel", channelId: "room" },
        author,
        activity({ ...message, ...fields }),
      );
      expect(route).toMatchObject({ kind: "channel", channelId: "room", via: "channelInbox" });
    }
    // At the shared inbox a message without target or channel addressing names no channel.
    const shared = routeInboxDelivery(urls, { kind: "shared" }, author, activity(message));
    expect(shared).toEqual({ kind: "addressed", candidates: [], dedupeTarget: "shared" });
  });

  it("sends everything at a channel inbox to that channel", () => {
    const route = routeInboxDelivery(urls, { kind: "channel", channelId: "room" }, author, activity());
    expect(route).toEqual({
      kind: "channel",
      channelId: "room",
      via: "channelInbox",
      dedupeTarget: "channel:room",
    });
  });
});
