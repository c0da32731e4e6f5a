import { beforeAll, describe, expect, it } from "vitest";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

/**
 * A claim that gives nothing to add is refused with the answer's own reasons (`mimi:unavailable`, an
 * item that cannot be used), not with a guess.
 */
let network: FakeNetwork;
/** Rewrites the next claim answer; undefined leaves it as the fake gave it. */
let rewriteClaim: ((answer: Record<string, unknown>) => Record<string, unknown>) | undefined;

const fetchThrough: typeof fetch = async (input, init) => {
  const response = await network.fetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!rewriteClaim || url.pathname !== "/api/v1/keypackages/claim" || !response.ok) return response;
  const answer = rewriteClaim((await response.json()) as Record<string, unknown>);
  return new Response(JSON.stringify(answer), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
};

async function account(handle: string, withDevice: boolean) {
  const { client } = await newAccount(network, handle, undefined, {
    fetch: fetchThrough,
    keyPackageTarget: 2,
    keyPackageThreshold: 1,
  });
  if (withDevice) expect((await client.addDevice("laptop")).keyPackages.ok).toBe(true);
  return client;
}

beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

describe("adding someone whose claim gives nothing", () => {
  it("shows the peer's reason for every client it refused", async () => {
    const alice = await account("alice@a.test", true);
    await account("bob@b.test", true);
    const channel = await alice.createChannel("refused");
    await alice.waitForChannel(channel.url);
    rewriteClaim = (answer) => ({
      ...answer,
      items: [],
      "mimi:unavailable": [
        {
          "mimi:client": "c1",
          "mimi:reason": "noKeyPackages",
          summary: "this client has no KeyPackage left to claim",
        },
        {
          "mimi:client": "c2",
          "mimi:reason": "rejectedFromRemote",
          summary: "its credential names carol@b.test",
        },
      ],
    });
    try {
      await expect(alice.addMember(channel.url, "bob@b.test")).rejects.toThrow(
        "bob@b.test has no KeyPackage to add: client c1: noKeyPackages (this client has no KeyPackage left to claim); client c2: rejectedFromRemote (its credential names carol@b.test)",
      );
      rewriteClaim = (answer) => ({ ...answer, items: [{ "mimi:client": "c3", content: "AAAA" }] });
      await expect(alice.addMember(channel.url, "bob@b.test")).rejects.toThrow(
        /^bob@b\.test has no KeyPackage to add: client c3: its KeyPackage does not decode/,
      );
    } finally {
      rewriteClaim = undefined;
    }
    expect((await alice.channel(channel.url)).waiting).toBe(false);
  });

  it("says when the answer lists no client at all, and when everyone is in already", async () => {
    const alice = await account("alice2@a.test", true);
    await account("dave@b.test", false);
    const bob = await account("bob2@b.test", true);
    const channel = await alice.createChannel("empty");
    await alice.waitForChannel(channel.url);
    await expect(alice.addMember(channel.url, "dave@b.test")).rejects.toThrow(
      "dave@b.test has no KeyPackage to add: the claim answer lists no client (no registered device)",
    );
    await alice.addMember(channel.url, "bob2@b.test");
    expect((await alice.waitForChannel(channel.url)).settled).toBe(true);
    await bob.sync();
    await expect(alice.addMember(channel.url, "bob2@b.test")).rejects.toThrow(
      "bob2@b.test is already a member of empty",
    );
  });
});
