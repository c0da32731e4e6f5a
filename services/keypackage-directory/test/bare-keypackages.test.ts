import type { IncomingMessage, ServerResponse } from "node:http";
import { createSchemeMemory, type SchemeMemory } from "@mimi/http-signatures";
import { decodeKeyPackage } from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  b64,
  call,
  createAccount,
  enrolDevice,
  keyPackageBytes,
  type Listener,
  listen,
  startTestProvider,
  type TestProvider,
} from "./harness.js";

/**
 * a.test claims bob@b.test from a peer that answers with bare KeyPackage structs (no MLSMessage
 * framing), as some MLS implementations publish them. bob's credentials come from a real b.test
 * provider; the peer a.test talks to is a fake serving them.
 */
const SUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";
const BOB = "http://b.test/users/bob";

let a: TestProvider;
let issuer: TestProvider;
let peer: Listener;
let aliceToken: string;
let claimAnswer: unknown;
let framedLaptop: Uint8Array;
let framedPhone: Uint8Array;
let laptop: string;
let phone: string;
let tablet: string;
/** a.test's own scheme memory, recording the origins it was asked about. */
const askedOrigins: string[] = [];
const ownMemory = createSchemeMemory();
const schemeMemory: SchemeMemory = {
  recall: (origin) => {
    askedOrigins.push(origin);
    return ownMemory.recall(origin);
  },
  remember: (origin, scheme) => ownMemory.remember(origin, scheme),
  presume: (origin, scheme) => ownMemory.presume(origin, scheme),
  unknownOrigins: ownMemory.unknownOrigins,
  get size() {
    return ownMemory.size;
  },
};

/** An MLSMessage is its version and wire format (two uint16) followed by the KeyPackage. */
const bare = (framed: Uint8Array) => framed.slice(4);

const item = (clientId: string, content: Uint8Array) => ({
  type: "KeyPackage",
  mediaType: "message/mls",
  encoding: "base64",
  content: b64(content),
  ciphersuite: SUITE,
  "mimi:client": clientId,
});

function sendJson(res: ServerResponse, type: string, body: unknown): void {
  res.writeHead(200, { "content-type": type }).end(JSON.stringify(body));
}

function fakePeer(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://b.test").pathname;
  if (path === "/.well-known/webfinger") {
    sendJson(res, "application/jrd+json", {
      subject: "acct:bob@b.test",
      links: [{ rel: "self", type: "application/activity+json", href: BOB }],
    });
  } else if (path === "/users/bob" && req.method === "GET") {
    sendJson(res, "application/activity+json", {
      id: BOB,
      type: "Person",
      "mimi:keyPackageClaim": `${BOB}/keypackages/claim`,
    });
  } else if (path === "/users/bob/keypackages/claim" && req.method === "POST") {
    req.resume();
    req.on("end", () => sendJson(res, "application/activity+json", claimAnswer));
  } else {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  const listenerA = await listen();
  const listenerIssuer = await listen();
  peer = await listen();
  peer.serve(fakePeer);
  [a, issuer] = await Promise.all([
    startTestProvider({
      domain: "a.test",
      listener: listenerA,
      connectTo: `a.test=127.0.0.1:${listenerA.port},b.test=127.0.0.1:${peer.port}`,
      directory: { signatureSchemes: schemeMemory },
    }),
    startTestProvider({
      domain: "b.test",
      listener: listenerIssuer,
      connectTo: `b.test=127.0.0.1:${listenerIssuer.port}`,
    }),
  ]);
  aliceToken = await createAccount(a, "alice");
  const bobToken = await createAccount(issuer, "bob");
  const devices = await Promise.all(
    ["laptop", "phone", "tablet"].map((name) => enrolDevice(issuer, bobToken, "bob", name)),
  );
  const [laptopDevice, phoneDevice, tabletDevice] = devices;
  if (!laptopDevice || !phoneDevice || !tabletDevice) throw new Error("devices not enrolled");
  [laptop, phone, tablet] = devices.map((device) => device.clientId) as [string, string, string];
  framedLaptop = await keyPackageBytes(laptopDevice);
  framedPhone = await keyPackageBytes(phoneDevice);
  // A bare KeyPackage whose signature no longer verifies: bare or not, it must be refused.
  const forged = bare(await keyPackageBytes(tabletDevice));
  forged[forged.length - 5] = (forged[forged.length - 5] ?? 0) ^ 0xff;
  claimAnswer = {
    type: "Collection",
    items: [item(laptop, bare(framedLaptop)), item(phone, framedPhone), item(tablet, forged)],
  };
});

afterAll(async () => {
  await a?.close();
  await issuer?.close();
  await peer?.close();
});

describe("claims relayed from a peer that sends bare KeyPackages", () => {
  it("relays bare and framed KeyPackages framed, and still refuses one that does not verify", async () => {
    const res = await call(`${a.base}/api/v1/keypackages/claim`, {
      body: { acct: "acct:bob@b.test", ciphersuites: [SUITE] },
      token: aliceToken,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: "Collection", attributedTo: BOB, totalItems: 2 });
    const items = res.body.items as Array<{ content: string; "mimi:client": string }>;
    const contentOf = (clientId: string) => items.find((entry) => entry["mimi:client"] === clientId)?.content;
    expect(contentOf(laptop)).toBe(b64(framedLaptop));
    expect(contentOf(phone)).toBe(b64(framedPhone));
    for (const entry of items) {
      expect(decodeKeyPackage(new Uint8Array(Buffer.from(entry.content, "base64"))).ok).toBe(true);
    }
    expect(res.body["mimi:unavailable"]).toEqual([
      expect.objectContaining({ "mimi:client": tablet, "mimi:reason": "rejectedFromRemote" }),
    ]);
  });

  it("signs the relayed claim with the scheme memory of the provider's settings", () => {
    expect(askedOrigins).toContain("http://b.test");
  });
});
