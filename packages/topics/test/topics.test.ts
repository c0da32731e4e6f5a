import { describe, expect, it } from "vitest";
import {
  channelInboxTopic,
  deliveryJobsTopic,
  deliveryRequestsTopic,
  destinationKey,
  TopicNames,
  userInboxTopic,
} from "../src/index.js";

const activity = {
  id: "https://a.test/users/alice/activities/1",
  type: "Create",
  actor: "https://a.test/users/alice",
};

describe("topic messages", () => {
  it("round-trips each topic's payload", () => {
    const items = [
      [
        channelInboxTopic,
        {
          channelId: "c1",
          activity,
          authenticatedActor: activity.actor,
          via: "outbox",
          receivedAt: "2026-01-01T00:00:00Z",
        },
      ],
      [
        userInboxTopic,
        { username: "bob", activityId: activity.id, activity, deliveredBy: activity.actor, receivedAt: "x" },
      ],
      [
        deliveryRequestsTopic,
        {
          activityId: activity.id,
          activity,
          signAs: activity.actor,
          audience: ["https://b.test/users/bob"],
          exclude: [],
          requestedAt: "x",
        },
      ],
      [
        deliveryJobsTopic,
        {
          activityId: activity.id,
          body: JSON.stringify(activity),
          signAs: activity.actor,
          inbox: "https://b.test/inbox",
          recipients: ["https://b.test/users/bob"],
          firstAttemptAt: "x",
        },
      ],
    ] as const;
    for (const [topic, payload] of items) {
      const message = (topic as typeof userInboxTopic).message("k", payload as never);
      const parsed = topic.parse(message);
      expect(parsed).toEqual({ ok: true, value: payload });
    }
  });

  it("defaults exclude to an empty list and refuses malformed payloads with a reason", () => {
    const message = deliveryRequestsTopic.message("k", {
      activityId: "a",
      activity,
      signAs: "s",
      audience: [],
      requestedAt: "x",
    } as never);
    const parsed = deliveryRequestsTopic.parse(message);
    expect(parsed.ok && parsed.value.exclude).toEqual([]);
    const bad = channelInboxTopic.parse({
      value: new TextEncoder().encode(JSON.stringify({ channelId: "" })),
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toContain("invalid channel.inbox payload");
  });

  it("keys delivery jobs by destination origin", () => {
    expect(destinationKey("https://b.test/users/bob/inbox")).toBe("https://b.test");
    expect(destinationKey("http://b.test:8082/inbox")).toBe("http://b.test:8082");
    expect(TopicNames.deliveryJobs).toBe("delivery.jobs");
  });
});
