import { providerUrls } from "@mimi/activitypub";
import type { SignedGet, SignedGetResult } from "@mimi/http-signatures";
import { describe, expect, it, vi } from "vitest";
import { createChannelMembership, MembershipReadError } from "./channel-membership.js";

const urls = providerUrls("b.example", "https://b.example");
const channel = "https://a.example/channels/room";
const followers = `${channel}/followers`;
const carol = "https://a.example/users/carol";
const bob = "https://b.example/users/bob";

/** A signed GET answering from a table of URL -> result, counting calls per URL. */
function fakeGet(table: Record<string, SignedGetResult>) {
  return vi.fn<SignedGet>(async (url) => table[url] ?? statusOf(404, url));
}

const doc = (document: unknown, url = followers): SignedGetResult => ({
  kind: "document",
  status: 200,
  document,
  url,
});

/** A non-2xx answer, permanent as the shared signed GET rates it. */
const statusOf = (status: number, url = followers): SignedGetResult => ({
  kind: "status",
  status,
  permanent: [401, 403, 404, 410].includes(status),
  url,
});

describe("createChannelMembership", () => {
  it("reads a remote channel's followers collection and reuses it within the TTL", async () => {
    let clock = 0;
    const signedGet = fakeGet({
      [followers]: doc({ type: "OrderedCollection", orderedItems: [carol, bob] }),
    });
    const members = createChannelMembership({ urls, signedGet, ttlMs: 30_000, now: () => clock });
    await expect(members(channel, { refresh: false })).resolves.toEqual({
      readable: true,
      members: [carol, bob],
      fresh: true,
    });
    clock = 29_999;
    await expect(members(channel, { refresh: false })).resolves.toMatchObject({ fresh: false });
    expect(signedGet).toHaveBeenCalledTimes(1);
    clock = 30_000;
    await expect(members(channel, { refresh: false })).resolves.toMatchObject({ fresh: true });
    await expect(members(channel, { refresh: true })).resolves.toMatchObject({ fresh: true });
    expect(signedGet).toHaveBeenCalledTimes(3);
  });

  it("shares one fetch between concurrent cached reads, but not with a refresh", async () => {
    const signedGet = fakeGet({ [followers]: doc({ type: "Collection", items: [carol] }) });
    const members = createChannelMembership({ urls, signedGet, ttlMs: 30_000 });
    await Promise.all([members(channel, { refresh: false }), members(channel, { refresh: false })]);
    expect(signedGet).toHaveBeenCalledTimes(1);
    const fresh = createChannelMembership({ urls, signedGet, ttlMs: 30_000 });
    await Promise.all([fresh(channel, { refresh: false }), fresh(channel, { refresh: true })]);
    expect(signedGet).toHaveBeenCalledTimes(3);
  });

  it("follows first and next pages on the channel's origin, within the page bound", async () => {
    const page2 = `${followers}?page=2`;
    const signedGet = fakeGet({
      [followers]: doc({
        type: "OrderedCollection",
        first: { type: "OrderedCollectionPage", orderedItems: [carol], next: page2 },
      }),
      [page2]: doc({ type: "OrderedCollectionPage", orderedItems: [{ id: bob }, carol] }, page2),
    });
    const members = createChannelMembership({ urls, signedGet, ttlMs: 0 });
    await expect(members(channel, { refresh: false })).resolves.toMatchObject({ members: [carol, bob] });

    const bounded = createChannelMembership({ urls, signedGet, ttlMs: 0, maxPages: 2 });
    await expect(bounded(channel, { refresh: false })).rejects.toBeInstanceOf(MembershipReadError);

    const elsewhere = fakeGet({
      [followers]: doc({ type: "OrderedCollection", first: "https://evil.example/members" }),
    });
    await expect(
      createChannelMembership({ urls, signedGet: elsewhere, ttlMs: 0 })(channel, { refresh: false }),
    ).rejects.toThrow("another origin");
    expect(elsewhere).toHaveBeenCalledTimes(1);
  });

  it("refuses collections longer than the member bound", async () => {
    const signedGet = fakeGet({
      [followers]: doc({ type: "OrderedCollection", orderedItems: [carol, bob] }),
    });
    const members = createChannelMembership({ urls, signedGet, ttlMs: 0, maxMembers: 1 });
    await expect(members(channel, { refresh: false })).rejects.toThrow("more than 1 members");
  });

  it("reports refusals as unreadable and other failures as errors", async () => {
    for (const status of [401, 403, 404, 410]) {
      const members = createChannelMembership({
        urls,
        signedGet: fakeGet({ [followers]: statusOf(status) }),
        ttlMs: 0,
      });
      await expect(members(channel, { refresh: false })).resolves.toMatchObject({ readable: false });
    }
    const blocked = createChannelMembership({
      urls,
      signedGet: fakeGet({
        [followers]: { kind: "blocked", detail: "blockedAddress: 10.0.0.1" },
      }),
      ttlMs: 0,
    });
    await expect(blocked(channel, { refresh: false })).resolves.toMatchObject({ readable: false });
    const failures: SignedGetResult[] = [
      statusOf(500),
      { kind: "failed", reason: "connectError", detail: "connectError: refused" },
      doc({ type: "Person" }),
    ];
    for (const answer of failures) {
      const members = createChannelMembership({
        urls,
        signedGet: fakeGet({ [followers]: answer }),
        ttlMs: 0,
      });
      await expect(members(channel, { refresh: false })).rejects.toBeInstanceOf(MembershipReadError);
    }
  });

  it("forgets a cached list when the collection is refused, but keeps it through a failure", async () => {
    const table: Record<string, SignedGetResult> = {
      [followers]: doc({ type: "OrderedCollection", orderedItems: [carol] }),
    };
    const members = createChannelMembership({ urls, signedGet: fakeGet(table), ttlMs: 30_000 });
    await members(channel, { refresh: false });
    table[followers] = statusOf(503);
    await expect(members(channel, { refresh: true })).rejects.toBeInstanceOf(MembershipReadError);
    await expect(members(channel, { refresh: false })).resolves.toMatchObject({
      members: [carol],
      fresh: false,
    });
    table[followers] = statusOf(403);
    await expect(members(channel, { refresh: true })).resolves.toMatchObject({ readable: false });
    await expect(members(channel, { refresh: false })).resolves.toMatchObject({ readable: false });
  });

  it("asks the local port for this provider's channels, without fetching", async () => {
    const signedGet = fakeGet({});
    const localChannelFollowers = vi.fn(async (id: string) => (id === "loc" ? [bob] : undefined));
    const members = createChannelMembership({ urls, signedGet, ttlMs: 30_000, localChannelFollowers });
    await expect(members("https://b.example/channels/loc", { refresh: false })).resolves.toEqual({
      readable: true,
      members: [bob],
      fresh: true,
    });
    await expect(members("https://b.example/channels/gone", { refresh: false })).resolves.toMatchObject({
      readable: false,
    });
    expect(localChannelFollowers.mock.calls).toEqual([["loc"], ["gone"]]);
    expect(signedGet).not.toHaveBeenCalled();
  });
});
