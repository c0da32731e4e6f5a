import { providerUrls } from "@mimi/activitypub";
import type { OutboundHttp } from "@mimi/outbound-http";
import { describe, expect, it } from "vitest";
import { createAcctResolver, selfLink } from "./acct-resolver.js";

const urls = providerUrls("a.example", "https://a.example");

function fakeHttp(answers: Record<string, unknown>): OutboundHttp & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    request: async () => ({ ok: false, reason: "badUrl", detail: "unused" }),
    fetchJson: async (url) => {
      asked.push(url);
      const answer = answers[url];
      if (answer instanceof Error) return { ok: false, reason: "connectError", detail: answer.message };
      if (answer === undefined) return { ok: false, reason: "httpStatus", status: 404, detail: "HTTP 404" };
      return { ok: true, status: 200, value: answer, url };
    },
    close: async () => {},
  };
}

const bobJrd = {
  subject: "acct:bob@b.example",
  links: [
    { rel: "http://webfinger.net/rel/profile-page", type: "text/html", href: "https://b.example/@bob" },
    { rel: "self", type: "application/activity+json", href: "https://b.example/users/bob" },
  ],
};

describe("acct resolver", () => {
  it("maps local accounts without a lookup and remote ones by WebFinger, cached", async () => {
    const http = fakeHttp({
      "https://b.example/.well-known/webfinger?resource=acct%3Abob%40b.example": bobJrd,
    });
    const resolve = createAcctResolver({ urls, http, connectTo: new Map() });
    expect(await resolve("acct:alice@a.example")).toBe("https://a.example/users/alice");
    expect(await resolve("acct:bob@b.example")).toBe("https://b.example/users/bob");
    expect(await resolve("acct:bob@b.example")).toBe("https://b.example/users/bob");
    expect(await resolve("acct:ghost@b.example")).toBeUndefined();
    expect(http.asked).toHaveLength(2);
    expect(await resolve("not an acct")).toBeUndefined();
  });

  it("uses plain HTTP for development host mappings and throws when the lookup fails", async () => {
    const http = fakeHttp({
      "http://b.test/.well-known/webfinger?resource=acct%3Abob%40b.test": bobJrd,
      "https://down.example/.well-known/webfinger?resource=acct%3Abob%40down.example": new Error("refused"),
    });
    const resolve = createAcctResolver({ urls, http, connectTo: new Map([["b.test", "127.0.0.1:1"]]) });
    expect(await resolve("acct:bob@b.test")).toBe("https://b.example/users/bob");
    await expect(resolve("acct:bob@down.example")).rejects.toThrow("refused");
  });

  it("reads only an ActivityPub self link", () => {
    expect(selfLink(bobJrd)).toBe("https://b.example/users/bob");
    expect(
      selfLink({ links: [{ rel: "self", type: "text/html", href: "https://b.example/@bob" }] }),
    ).toBeUndefined();
    expect(
      selfLink({ links: [{ rel: "self", type: "application/activity+json", href: "javascript:x" }] }),
    ).toBeUndefined();
    expect(selfLink(null)).toBeUndefined();
  });
});
