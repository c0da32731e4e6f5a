import { providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import {
  forwardRecipients,
  isAddressedToChannelFollowers,
  sharedInboxChannelOf,
} from "./channel-forwarding.js";
import { readCollectionPage } from "./collection.js";

const urls = providerUrls("b.example", "https://b.example");
const channel = "https://a.example/channels/room";

describe("forwardRecipients", () => {
  const members = [
    "https://b.example/users/bob",
    "https://a.example/users/carol",
    "https://b.example/users/alice",
  ];

  it("names the local members of the channel", () => {
    expect(forwardRecipients(urls, { type: "Create" }, members)).toEqual(["bob", "alice"]);
  });

  it("adds the local object of an Add or Remove, once", () => {
    for (const type of ["Add", "Remove"]) {
      expect(forwardRecipients(urls, { type, object: "https://b.example/users/dan" }, members)).toEqual([
        "bob",
        "alice",
        "dan",
      ]);
      expect(forwardRecipients(urls, { type, object: "https://b.example/users/bob" }, members)).toEqual([
        "bob",
        "alice",
      ]);
    }
    // Other activities' objects are not people to deliver to.
    expect(forwardRecipients(urls, { type: "Update", object: "https://b.example/users/dan" }, [])).toEqual(
      [],
    );
  });
});

describe("channel addressing", () => {
  it("recognises an activity addressed to the channel's followers collection", () => {
    expect(isAddressedToChannelFollowers(channel, { to: [`${channel}/followers`] })).toBe(true);
    expect(isAddressedToChannelFollowers(channel, { to: `${channel}/followers` })).toBe(true);
    expect(isAddressedToChannelFollowers(channel, { cc: [`${channel}/followers`] })).toBe(false);
    expect(isAddressedToChannelFollowers(channel, { to: [channel] })).toBe(false);
  });

  it("finds the local channel a shared-inbox submission is for", () => {
    expect(sharedInboxChannelOf(urls, { target: "https://b.example/channels/room" })).toEqual({
      channelId: "room",
    });
    expect(sharedInboxChannelOf(urls, { to: ["https://b.example/channels/room/followers"] })).toEqual({
      channelId: "room",
    });
    expect(
      sharedInboxChannelOf(urls, { to: ["https://b.example/users/bob"], target: channel }),
    ).toBeUndefined();
    expect(
      sharedInboxChannelOf(urls, {
        target: "https://b.example/channels/one",
        to: ["https://b.example/channels/two/followers"],
      }),
    ).toEqual({ ambiguous: ["one", "two"] });
  });
});

describe("readCollectionPage", () => {
  it("reads items of collections and pages, as URIs or objects", () => {
    expect(
      readCollectionPage({ type: "OrderedCollection", orderedItems: ["https://x/1", { id: "https://x/2" }] }),
    ).toEqual({ ok: true, items: ["https://x/1", "https://x/2"], continuation: { kind: "none" } });
    expect(
      readCollectionPage({ type: "CollectionPage", items: ["https://x/3"], next: "https://x/p2" }),
    ).toEqual({
      ok: true,
      items: ["https://x/3"],
      continuation: { kind: "url", url: "https://x/p2" },
    });
  });

  it("continues with the first page, embedded or linked", () => {
    const embedded = { type: "OrderedCollectionPage", orderedItems: ["https://x/1"] };
    expect(readCollectionPage({ type: "OrderedCollection", first: embedded })).toEqual({
      ok: true,
      items: [],
      continuation: { kind: "embedded", page: embedded },
    });
    expect(readCollectionPage({ type: "Collection", first: { id: "https://x/p1" } })).toMatchObject({
      continuation: { kind: "url", url: "https://x/p1" },
    });
  });

  it("refuses documents that are not collections", () => {
    for (const document of [null, [], "x", { type: "Person" }, { orderedItems: [] }]) {
      expect(readCollectionPage(document)).toMatchObject({ ok: false });
    }
  });
});
