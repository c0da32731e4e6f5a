import { type ActivityEnvelope, activityEnvelopeSchema } from "@mimi/activitypub";
import { channelInboxTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { describe, expect, it } from "vitest";
import {
  channelInboxPublication,
  deliveryRequestPublication,
  publicationLogFields,
  traceHeaders,
  userInboxPublication,
} from "./publications.js";

const carol = "https://remote.example/users/carol";
const arrival = { receivedAt: "2025-01-01T00:00:00.000Z", headers: { traceparent: "00-abc-def-01" } };
const activity: ActivityEnvelope = activityEnvelopeSchema.parse({
  id: "https://remote.example/activities/1",
  type: "Create",
  actor: carol,
  object: { type: "PrivateMessage", content: "c2VjcmV0" },
});

describe("publications", () => {
  it("give each recipient a user.inbox item keyed by its username, delivered by the signer", () => {
    const publication = userInboxPublication(
      { activity, recipients: ["bob", "alice"], deliveredBy: carol, dedupeTarget: "shared" },
      arrival,
    );
    expect(publication.key).toEqual({ activityId: activity.id, target: "shared", sender: carol });
    expect(publication.topic).toBe(userInboxTopic.name);
    expect(publication.messages.map((message) => message.key)).toEqual(["bob", "alice"]);
    const [first] = publication.messages;
    expect(first?.headers).toEqual(arrival.headers);
    expect(userInboxTopic.parse(first!)).toMatchObject({
      ok: true,
      value: { username: "bob", activity, deliveredBy: carol, receivedAt: arrival.receivedAt },
    });
  });

  it("give a channel one channel.inbox item keyed by the channel, naming how it arrived", () => {
    const publication = channelInboxPublication(
      { channelId: "room", activity, sender: carol, via: "sharedInbox", dedupeTarget: "channel:room" },
      { ...arrival, headers: undefined },
    );
    expect(publication.key).toEqual({ activityId: activity.id, target: "channel:room", sender: carol });
    expect(publication.messages).toHaveLength(1);
    expect(publication.messages[0]?.key).toBe("room");
    expect(publication.messages[0]).not.toHaveProperty("headers");
    expect(channelInboxTopic.parse(publication.messages[0]!)).toMatchObject({
      ok: true,
      value: { channelId: "room", activity, authenticatedActor: carol, via: "sharedInbox" },
    });
  });

  it("ask delivery to sign as the author, keyed by it, sending the activity as routed", () => {
    const bob = "https://b.example/users/bob";
    const own = activityEnvelopeSchema.parse({ ...activity, id: `${bob}/activities/1`, actor: bob });
    const delivered = { ...own, to: [carol] };
    const publication = deliveryRequestPublication(
      { activity: own, delivered, audience: [carol], signAs: bob, dedupeTarget: "outbox:bob" },
      arrival,
    );
    expect(publication.key).toEqual({ activityId: own.id, target: "outbox:bob", sender: bob });
    expect(publication.messages[0]?.key).toBe(bob);
    expect(deliveryRequestsTopic.parse(publication.messages[0]!)).toMatchObject({
      ok: true,
      value: { activityId: own.id, activity: delivered, signAs: bob, audience: [carol], exclude: [bob] },
    });
  });

  it("are logged by ids, type and sender, never by their messages", () => {
    const publication = userInboxPublication(
      { activity, recipients: ["bob"], deliveredBy: carol, dedupeTarget: "user:bob" },
      arrival,
    );
    const fields = publicationLogFields(publication);
    expect(fields).toEqual({ activityId: activity.id, type: "Create", target: "user:bob", sender: carol });
    expect(JSON.stringify(fields)).not.toContain("c2VjcmV0");
  });

  it("carry the request's trace context only", () => {
    expect(traceHeaders({ traceparent: "00-abc-def-01", cookie: "x" })).toEqual({
      traceparent: "00-abc-def-01",
    });
    expect(traceHeaders({})).toBeUndefined();
  });
});
