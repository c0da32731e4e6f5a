import { providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import {
  channelIdForGroupId,
  isWellFormedChannelId,
  localChannelIdOf,
  localChannelIdOfFollowers,
  localUsernameOf,
} from "./identifiers.js";

const urls = providerUrls("a.example", "https://a.example");

describe("channel identifiers", () => {
  it("are the unpadded base64url of the group id", () => {
    const groupId = Uint8Array.from({ length: 16 }, (_, i) => 250 - i);
    const id = channelIdForGroupId(groupId);
    expect(id).toBe(Buffer.from(groupId).toString("base64url"));
    expect(id).not.toContain("=");
    expect(isWellFormedChannelId(id)).toBe(true);
  });

  it("refuse short, padded, non-canonical or foreign ids", () => {
    expect(isWellFormedChannelId(channelIdForGroupId(new Uint8Array(8)))).toBe(false);
    expect(isWellFormedChannelId(`${channelIdForGroupId(new Uint8Array(16))}==`)).toBe(false);
    expect(isWellFormedChannelId("AAAAAAAAAAAAAAAAAAAAAB")).toBe(false); // trailing bits set: not canonical
    expect(isWellFormedChannelId("not/an/id")).toBe(false);
  });

  it("read local channel, followers and actor URLs only", () => {
    expect(localChannelIdOf(urls, "https://a.example/channels/abc")).toBe("abc");
    expect(localChannelIdOf(urls, "https://a.example/channels/abc/followers")).toBeUndefined();
    expect(localChannelIdOf(urls, "https://b.example/channels/abc")).toBeUndefined();
    expect(localChannelIdOfFollowers(urls, "https://a.example/channels/abc/followers")).toBe("abc");
    expect(localChannelIdOfFollowers(urls, "https://a.example/channels/abc")).toBeUndefined();
    expect(localChannelIdOfFollowers(urls, "https://a.example/users/abc/followers")).toBeUndefined();
    expect(localUsernameOf(urls, "https://a.example/users/alice")).toBe("alice");
    expect(localUsernameOf(urls, "https://a.example/users/alice/inbox")).toBeUndefined();
    expect(localUsernameOf(urls, "https://b.example/users/alice")).toBeUndefined();
  });
});
