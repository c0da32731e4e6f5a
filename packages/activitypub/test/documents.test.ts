import { describe, expect, it } from "vitest";
import {
  activityEnvelopeSchema,
  actorIdOf,
  audienceOf,
  defaultPublicUrl,
  isActivityContentType,
  providerUrls,
  wantsActivityJson,
} from "../src/index.js";

describe("content negotiation", () => {
  it.each([
    ["application/activity+json", true],
    ['application/ld+json; profile="https://www.w3.org/ns/activitystreams"', true],
    ["text/html, application/activity+json;q=0.9", true],
    ["application/json", true],
    ["text/html", false],
    ["*/*", false],
    [undefined, false],
  ])("Accept %s -> JSON %s", (accept, json) => {
    expect(wantsActivityJson(accept)).toBe(json);
  });

  it.each([
    ["application/activity+json", true],
    ["application/activity+json; charset=utf-8", true],
    ['application/ld+json; profile="https://www.w3.org/ns/activitystreams"', true],
    ["application/ld+json", false],
    ["application/json", false],
    ["text/plain", false],
    [undefined, false],
  ])("inbox Content-Type %s -> %s", (type, ok) => {
    expect(isActivityContentType(type)).toBe(ok);
  });
});

describe("provider URLs", () => {
  it("lays out every endpoint under the public URL", () => {
    const urls = providerUrls("a.test", "https://a.test/");
    expect(urls.actor("alice")).toBe("https://a.test/users/alice");
    expect(urls.keyId(urls.actor("alice"))).toBe("https://a.test/users/alice#main-key");
    expect(urls.keyPackageClaim("alice")).toBe("https://a.test/users/alice/keyPackages/claim");
    expect(urls.sharedInbox).toBe("https://a.test/inbox");
    expect(urls.channelFollowers("c1")).toBe("https://a.test/channels/c1/followers");
  });

  it("defaults to http with the port for localhost only", () => {
    expect(defaultPublicUrl("localhost", 8080)).toBe("http://localhost:8080");
    expect(defaultPublicUrl("a.example", 8080)).toBe("https://a.example");
  });
});

describe("activity envelope", () => {
  it("requires an absolute id, a type and an actor", () => {
    const good = {
      id: "https://a.test/x",
      type: "Create",
      actor: "https://a.test/users/alice",
      to: "https://b.test/users/bob",
    };
    expect(activityEnvelopeSchema.safeParse(good).success).toBe(true);
    expect(activityEnvelopeSchema.safeParse({ ...good, id: "x" }).success).toBe(false);
    expect(activityEnvelopeSchema.safeParse({ ...good, type: "" }).success).toBe(false);
    const { actor: _actor, ...noActor } = good;
    expect(activityEnvelopeSchema.safeParse(noActor).success).toBe(false);
    expect(activityEnvelopeSchema.safeParse({ ...good, actor: { id: "ftp://a.test/u" } }).success).toBe(
      false,
    );
  });

  it("reads the actor and the audience", () => {
    expect(actorIdOf({ actor: { id: "https://a.test/users/alice" } })).toBe("https://a.test/users/alice");
    expect(audienceOf({ to: ["x", "y"], cc: "x" })).toEqual(["x", "y"]);
    expect(audienceOf({})).toEqual([]);
  });
});
