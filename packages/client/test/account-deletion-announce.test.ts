import { describe, expect, it } from "vitest";
import { actorDeleteActivity, type DeletionSteps, deleteAccountWith } from "../src/account-deletion.js";
import type { ChannelSummary } from "../src/client-types.js";

/** Before the account goes, the Delete of its actor is posted to every channel it was active in. */
const BEN = "http://b.test/users/ben";
const summary = (name: string, status: ChannelSummary["status"] = "active"): ChannelSummary => ({
  id: name,
  url: `http://a.test/channels/${name}`,
  name,
  status,
  epoch: 1,
  waiting: false,
});

function steps(calls: string[], announce: (channel: string) => Promise<unknown>): DeletionSteps {
  return {
    checkPassword: async () => {
      calls.push("password");
    },
    channels: async () => [summary("one"), summary("gone", "left"), summary("owned")],
    leave: async (url) => {
      calls.push(`leave ${url}`);
      if (url.endsWith("/owned"))
        throw new Error("the channel's owner cannot leave while other members remain");
      return { channel: summary("one", "left"), outcome: { status: "left" }, events: [] };
    },
    announceDeletion: async (channel) => {
      calls.push(`announce ${channel}`);
      return announce(channel);
    },
    deleteOnServer: async () => {
      calls.push("delete");
      return { quarantineUntil: "2026-02-01T00:00:00.000Z" };
    },
  };
}

describe("announcing an account's deletion", () => {
  it("posts the Delete to each channel that was active, after leaving and before the server deletes", async () => {
    const calls: string[] = [];
    const deletion = await deleteAccountWith(steps(calls, async () => undefined));
    expect(calls).toEqual([
      "password",
      "leave http://a.test/channels/one",
      "leave http://a.test/channels/owned",
      "announce http://a.test/channels/one",
      "announce http://a.test/channels/owned",
      "delete",
    ]);
    expect(deletion.unannounced).toEqual([]);
  });

  it("lists a channel whose Delete the home server did not take, and still deletes", async () => {
    const calls: string[] = [];
    const deletion = await deleteAccountWith(
      steps(calls, async (channel) => {
        if (channel.endsWith("/one")) throw new Error("rate limited");
      }),
    );
    expect(calls.at(-1)).toBe("delete");
    expect(deletion.unannounced).toEqual([{ channel: "http://a.test/channels/one", reason: "rate limited" }]);
  });

  it("builds the Delete of the actor itself, addressed to one channel and naming no target", () => {
    const activity = actorDeleteActivity(BEN, "http://a.test/channels/one");
    expect(activity).toMatchObject({
      type: "Delete",
      actor: BEN,
      object: BEN,
      to: ["http://a.test/channels/one"],
    });
    expect(activity).not.toHaveProperty("target");
    expect(String(activity.id).startsWith(`${BEN}/activities/`)).toBe(true);
  });
});
