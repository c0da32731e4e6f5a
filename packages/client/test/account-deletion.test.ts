import { describe, expect, it } from "vitest";
import { type DeletionSteps, deleteAccountWith } from "../src/account-deletion.js";
import type { ChannelSummary } from "../src/client-types.js";

/** The order of an account's deletion: password, then every active channel left, then the server. */
const summary = (name: string, status: ChannelSummary["status"] = "active"): ChannelSummary => ({
  id: name,
  url: `http://a.test/channels/${name}`,
  name,
  status,
  epoch: 1,
  waiting: false,
});

function steps(overrides: Partial<DeletionSteps> = {}): DeletionSteps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    checkPassword: async () => {
      calls.push("password");
    },
    channels: async () => [summary("one"), summary("gone", "left"), summary("owned"), summary("down")],
    leave: async (url) => {
      calls.push(`leave ${url}`);
      if (url.endsWith("/owned"))
        return {
          channel: summary("owned"),
          outcome: {
            status: "refused",
            reason: "the channel's owner cannot leave while other members remain",
          },
          events: [],
        };
      if (url.endsWith("/down")) throw new Error("the home server cannot be reached");
      return { channel: summary("one", "left"), outcome: { status: "left" }, events: [] };
    },
    deleteOnServer: async () => {
      calls.push("delete");
      return { quarantineUntil: "2026-02-01T00:00:00.000Z" };
    },
    ...overrides,
  };
}

describe("deleting an account", () => {
  it("checks the password, leaves every active channel (best effort), then deletes on the server", async () => {
    const run = steps();
    const deletion = await deleteAccountWith(run);
    expect(run.calls).toEqual([
      "password",
      "leave http://a.test/channels/one",
      "leave http://a.test/channels/owned",
      "leave http://a.test/channels/down",
      "delete",
    ]);
    expect(deletion.quarantineUntil).toBe("2026-02-01T00:00:00.000Z");
    expect(deletion.departures.map((d) => [d.channel.name, d.outcome.status])).toEqual([
      ["one", "left"],
      ["owned", "refused"],
      ["down", "failed"],
    ]);
  });

  it("leaves nothing and deletes nothing when the password is wrong", async () => {
    const run = steps({
      checkPassword: async () => {
        throw new Error("403 wrong password");
      },
    });
    await expect(deleteAccountWith(run)).rejects.toThrow("403 wrong password");
    expect(run.calls).toEqual([]);
  });
});
