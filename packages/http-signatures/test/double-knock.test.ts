import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSchemeMemory,
  createSignedGet,
  doubleKnock,
  knockOrder,
  processSchemeMemory,
  publishesMultikey,
  type SignatureScheme,
  type SigningKey,
  schemeToRemember,
} from "../src/index.js";

const rsaOnly: SigningKey = {
  keyId: "http://mimi.test/actor#main-key",
  privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
};
const withEd25519: SigningKey = {
  ...rsaOnly,
  ed25519: {
    keyId: "http://mimi.test/actor#ed25519-key",
    privateKey: generateKeyPairSync("ed25519").privateKey,
  },
};

describe("which scheme to knock with", () => {
  it("draft-cavage alone for an unknown origin, RFC 9421 then draft-cavage for one known or presumed to read it", () => {
    expect(knockOrder(withEd25519, undefined)).toEqual(["cavage"]);
    expect(knockOrder(withEd25519, undefined, "rfc9421")).toEqual(["rfc9421", "cavage"]);
    expect(knockOrder(withEd25519, "rfc9421")).toEqual(["rfc9421", "cavage"]);
    expect(knockOrder(withEd25519, "cavage", "rfc9421")).toEqual(["cavage"]);
    expect(knockOrder(rsaOnly, "rfc9421")).toEqual(["cavage"]);
  });

  it("remembers a scheme the answer shows was read, never after 400, 401, 5xx or no answer", () => {
    for (const status of [200, 202, 302, 403, 404, 410, 429]) {
      expect(schemeToRemember("rfc9421", status)).toBe("rfc9421");
      expect(schemeToRemember("cavage", status, 2)).toBe("cavage");
    }
    for (const status of [400, 401, 500, 503, undefined]) {
      expect(schemeToRemember("rfc9421", status)).toBeUndefined();
      expect(schemeToRemember("cavage", status, 2)).toBeUndefined();
    }
    // draft-cavage read on the first knock says nothing about RFC 9421.
    expect(schemeToRemember("cavage", 202, 1)).toBeUndefined();
  });

  it("finds FEP-521a Multikeys in assertionMethod", () => {
    expect(publishesMultikey({ assertionMethod: [{ type: "Multikey" }] })).toBe(true);
    expect(publishesMultikey({ assertionMethod: { type: "Multikey" } })).toBe(true);
    expect(publishesMultikey({ publicKey: { type: "Multikey" } })).toBe(false);
    expect(publishesMultikey({ assertionMethod: "https://x.test/k" })).toBe(false);
    expect(publishesMultikey(null)).toBe(false);
  });
});

/** A fake peer: answers `refuse` for RFC 9421 requests and 202 otherwise, counting knocks. */
function peer(refuseRfc9421: number | undefined) {
  const sent: SignatureScheme[] = [];
  return {
    sent,
    send: async (scheme: SignatureScheme) => {
      sent.push(scheme);
      return { status: scheme === "rfc9421" && refuseRfc9421 !== undefined ? refuseRfc9421 : 202 };
    },
  };
}

describe("doubleKnock", () => {
  it("retries a refused RFC 9421 request once with draft-cavage and then goes straight to it", async () => {
    const memory = createSchemeMemory({ unknownOrigins: "rfc9421" });
    const mastodon = peer(401);
    const first = await doubleKnock({
      url: "https://m.test/inbox",
      key: withEd25519,
      memory,
      send: mastodon.send,
      statusOf: (r) => r.status,
    });
    expect(first).toMatchObject({ scheme: "cavage", knocks: 2, result: { status: 202 } });
    expect(memory.recall("https://m.test")).toBe("cavage");
    const second = await doubleKnock({
      url: "https://m.test/users/x/inbox",
      key: withEd25519,
      memory,
      send: mastodon.send,
      statusOf: (r) => r.status,
    });
    expect(second).toMatchObject({ scheme: "cavage", knocks: 1 });
    expect(mastodon.sent).toEqual(["rfc9421", "cavage", "cavage"]);
  });

  it("a peer that takes RFC 9421 gets one knock, remembered; a 400 is a refusal too", async () => {
    const memory = createSchemeMemory({ unknownOrigins: "rfc9421" });
    const fedify = peer(undefined);
    const result = await doubleKnock({
      url: "https://f.test/inbox",
      key: withEd25519,
      memory,
      send: fedify.send,
      statusOf: (r) => r.status,
    });
    expect(result).toMatchObject({ scheme: "rfc9421", knocks: 1 });
    expect(memory.recall("https://f.test")).toBe("rfc9421");
    const strict = peer(400);
    const retried = await doubleKnock({
      url: "https://s.test/inbox",
      key: withEd25519,
      memory,
      send: strict.send,
      statusOf: (r) => r.status,
    });
    expect(retried).toMatchObject({ scheme: "cavage", knocks: 2 });
  });

  it("a 5xx or a network failure is not retried with the other scheme and not remembered", async () => {
    const memory = createSchemeMemory({ unknownOrigins: "rfc9421" });
    const down = peer(503);
    expect(
      await doubleKnock({
        url: "https://d.test/inbox",
        key: withEd25519,
        memory,
        send: down.send,
        statusOf: (r) => r.status,
      }),
    ).toMatchObject({ scheme: "rfc9421", knocks: 1, result: { status: 503 } });
    const unreachable = await doubleKnock({
      url: "https://u.test/inbox",
      key: withEd25519,
      memory,
      send: async () => ({ status: undefined }),
      statusOf: (r) => r.status,
    });
    expect(unreachable.knocks).toBe(1);
    expect(memory.size).toBe(0);
  });

  it("when both schemes are refused, nothing is remembered and the refusal is returned", async () => {
    const memory = createSchemeMemory({ unknownOrigins: "rfc9421" });
    const sent: SignatureScheme[] = [];
    const result = await doubleKnock({
      url: "https://r.test/inbox",
      key: withEd25519,
      memory,
      send: async (scheme) => {
        sent.push(scheme);
        return { status: 401 };
      },
      statusOf: (r) => r.status,
    });
    expect(result).toMatchObject({ scheme: "cavage", knocks: 2, result: { status: 401 } });
    expect(sent).toEqual(["rfc9421", "cavage"]);
    expect(memory.size).toBe(0);
  });

  it("by default an unknown origin gets draft-cavage once; a presumption makes RFC 9421 go first", async () => {
    const memory = createSchemeMemory();
    const fedify = peer(undefined);
    const knock = () =>
      doubleKnock({
        url: "https://f.test/inbox",
        key: withEd25519,
        memory,
        send: fedify.send,
        statusOf: (r) => r.status,
      });
    expect(await knock()).toMatchObject({ scheme: "cavage", knocks: 1 });
    expect(memory.recall("https://f.test")).toBeUndefined();
    memory.presume("https://f.test", "rfc9421");
    expect(await knock()).toMatchObject({ scheme: "rfc9421", knocks: 1 });
    expect(fedify.sent).toEqual(["cavage", "rfc9421"]);
    // A presumption never replaces what a knock showed.
    memory.remember("https://m.test", "cavage");
    memory.presume("https://m.test", "rfc9421");
    expect(memory.recall("https://m.test")).toBe("cavage");
  });

  it("the memory is bounded and forgets after its time-to-live", () => {
    let now = 0;
    const memory = createSchemeMemory({ maxEntries: 2, ttlMs: 1_000, now: () => now });
    memory.remember("https://a.test", "cavage");
    memory.remember("https://b.test", "cavage");
    memory.remember("https://c.test", "rfc9421");
    expect(memory.recall("https://a.test")).toBeUndefined();
    expect(memory.recall("https://c.test")).toBe("rfc9421");
    now = 1_001;
    expect(memory.recall("https://c.test")).toBeUndefined();
  });
});

describe("createSignedGet double-knocks", () => {
  let server: Server;
  let http: OutboundHttp;
  const seen: IncomingMessage[] = [];
  const schemeOf = (request: IncomingMessage) =>
    request.headers["signature-input"] === undefined ? "cavage" : "rfc9421";

  beforeAll(async () => {
    // Both serve actors with a FEP-521a Multikey; old.test refuses RFC 9421 (401) all the same.
    server = createServer((request, response) => {
      seen.push(request);
      const refuses = request.headers.host === "old.test" && schemeOf(request) === "rfc9421";
      response.statusCode = refuses ? 401 : 200;
      const id = `http://${request.headers.host}${request.url}`;
      response.end(
        refuses ? "" : JSON.stringify({ id, assertionMethod: [{ id: `${id}#k`, type: "Multikey" }] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    http = createOutboundHttp({
      production: false,
      connectTo: new Map([
        ["old.test", target],
        ["new.test", target],
      ]),
    });
  });

  afterAll(async () => {
    await http.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("presumes RFC 9421 where Multikeys are served, signs with the Ed25519 key, falls back where refused", async () => {
    const schemes = createSchemeMemory();
    const get = createSignedGet(http, async () => withEd25519, { schemes });
    seen.length = 0;
    expect(await get("http://new.test/actor")).toMatchObject({ kind: "document", status: 200 });
    expect(await get("http://new.test/other")).toMatchObject({ kind: "document", status: 200 });
    expect(seen.map(schemeOf)).toEqual(["cavage", "rfc9421"]);
    expect(seen[1]?.headers["signature-input"]).toContain('keyid="http://mimi.test/actor#ed25519-key"');
    expect(schemes.recall("http://new.test")).toBe("rfc9421");

    seen.length = 0;
    expect(await get("http://old.test/actor")).toMatchObject({ kind: "document" });
    expect(await get("http://old.test/other")).toMatchObject({ kind: "document" });
    expect(await get("http://old.test/third")).toMatchObject({ kind: "document" });
    expect(seen.map(schemeOf)).toEqual(["cavage", "rfc9421", "cavage", "cavage"]);
    expect(seen[2]?.headers.signature).toMatch(
      /^keyId="http:\/\/mimi.test\/actor#main-key",algorithm="rsa-sha256"/,
    );
    expect(schemes.recall("http://old.test")).toBe("cavage");
  });

  it("the process's memory is shared by the services asking for the same bounds, and held to them", () => {
    expect(processSchemeMemory({ maxEntries: 10_000, ttlMs: 86_400_000 })).toBe(processSchemeMemory());
    const small = processSchemeMemory({ maxEntries: 1, ttlMs: 60_000 });
    expect(small).not.toBe(processSchemeMemory());
    expect(processSchemeMemory({ maxEntries: 1, ttlMs: 60_000 })).toBe(small);
    small.remember("http://one.test", "rfc9421");
    small.remember("http://two.test", "rfc9421");
    expect(small.recall("http://one.test")).toBeUndefined();
    expect(small.recall("http://two.test")).toBe("rfc9421");
    expect(processSchemeMemory().recall("http://two.test")).toBeUndefined();
  });

  it("without a memory of its own, a signed GET learns into the process's, which others read", async () => {
    expect(processSchemeMemory()).toBe(processSchemeMemory());
    expect(processSchemeMemory().recall("http://new.test")).toBeUndefined();
    await createSignedGet(http, async () => withEd25519)("http://new.test/actor");
    expect(processSchemeMemory().recall("http://new.test")).toBe("rfc9421");
  });

  it("a key without an Ed25519 key knocks once with draft-cavage and presumes nothing", async () => {
    const schemes = createSchemeMemory({ unknownOrigins: "rfc9421" });
    const get = createSignedGet(http, async () => rsaOnly, { schemes });
    seen.length = 0;
    await get("http://new.test/actor");
    expect(seen.map(schemeOf)).toEqual(["cavage"]);
    expect(schemes.size).toBe(0);
  });
});
