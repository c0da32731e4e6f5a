import { describe, expect, it } from "vitest";
import type { ChannelSummary, ClientEvent, SubmittedChange } from "../src/client-types.js";
import { type DeviceRemovalSubmitted, removalUnfinished } from "../src/device/device-removal.js";

/** When a removed device may be deleted at its home server: only once no channel holds it. */

function channel(name: string): ChannelSummary {
  return {
    id: name,
    url: `http://a.test/channels/${name}`,
    name,
    status: "active",
    epoch: 3,
    waiting: false,
  };
}

function change(name: string, activityId: string): SubmittedChange {
  return { channel: channel(name), activityId, epoch: 4 };
}

function rejected(name: string, activityId: string, retried: boolean): ClientEvent {
  return {
    type: "rejected",
    channel: channel(name),
    activityId,
    what: "remove",
    reason: "stale epoch",
    retried,
  };
}

const both: DeviceRemovalSubmitted = {
  submitted: [change("garden", "act-1"), change("workshop", "act-2")],
  notNow: [],
};

describe("whether a removal is finished", () => {
  it("is when every channel answered and none refused", () => {
    expect(removalUnfinished(both, [], [])).toBeUndefined();
    expect(removalUnfinished({ submitted: [], notNow: [] }, [], [])).toBeUndefined();
    // A refusal of someone else's change, or one of ours rebuilt and sent again, does not count.
    expect(removalUnfinished(both, [rejected("garden", "act-9", false)], [])).toBeUndefined();
  });

  it("is not while a channel waits, refused the removal, or was not asked now", () => {
    expect(removalUnfinished(both, [], ["workshop"])).toMatch(/still in workshop/);
    expect(removalUnfinished(both, [rejected("garden", "act-1", false)], [])).toMatch(/still in garden/);
    expect(
      removalUnfinished(
        { submitted: [], notNow: [{ channel: "garden", reason: "another change waits" }] },
        [],
        ["garden"],
      ),
    ).toBe("it is still in garden: run mimi device remove again once those channels took it out");
  });
});
