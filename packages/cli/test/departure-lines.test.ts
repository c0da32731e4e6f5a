import type { ChannelSummary } from "@mimi/client";
import { describe, expect, it } from "vitest";
import { eventLine } from "../src/format.js";

const channel: ChannelSummary = {
  id: "c1",
  url: "http://a.test/channels/c1",
  name: "general",
  status: "left",
  epoch: 3,
  waiting: false,
};

describe("departure lines", () => {
  it("say that you left, apart from being removed by someone", () => {
    const you = "http://b.test/users/bob";
    expect(eventLine({ type: "left", channel, by: you, voluntary: true })?.text).toBe("you left #general");
    expect(
      eventLine({ type: "left", channel, by: "http://a.test/users/alice", voluntary: false })?.text,
    ).toBe("#general: you were removed by http://a.test/users/alice");
  });

  it("say that a member left, without naming them as their own remover", () => {
    expect(eventLine({ type: "member-left", channel, actor: "http://c.test/users/carol" })?.text).toBe(
      "#general: http://c.test/users/carol left",
    );
  });

  it("name a refused Leave as a leave", () => {
    const line = eventLine({
      type: "rejected",
      channel,
      activityId: "http://b.test/users/bob/activities/9",
      what: "leave",
      reason: "the channel's owner cannot leave while other members remain",
      retried: false,
    });
    expect(line?.text).toBe(
      "#general: leave rejected: the channel's owner cannot leave while other members remain",
    );
  });
});
