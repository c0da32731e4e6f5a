import type { IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  createAccount,
  enrolDevice,
  type Listener,
  listen,
  startTestProvider,
  type TestProvider,
  uploadFresh,
} from "./harness.js";

/**
 * A claim to another provider is signed like a delivery: RFC 9421 with the requester's Ed25519 key,
 * since the peer's actor documents list a Multikey, and draft-cavage with RSA when the peer refuses it.
 */
let a: TestProvider;
let b: TestProvider;
let aliceToken: string;
const claimsAtB: IncomingHttpHeaders[] = [];
/** When set, b.test answers RFC 9421-signed claims 401, as a server reading only draft-cavage would. */
let refuseRfc9421 = false;

/** b.test's listener, recording the claims it receives. */
function recording(listener: Listener): Listener {
  return {
    ...listener,
    serve: (handler) =>
      listener.serve((req, res) => {
        if (req.method === "POST" && req.url?.endsWith("/keyPackages/claim")) {
          claimsAtB.push({ ...req.headers });
          if (refuseRfc9421 && req.headers["signature-input"] !== undefined) {
            res.writeHead(401, { "content-type": "application/problem+json" }).end("{}");
            return;
          }
        }
        handler(req, res);
      }),
  };
}

beforeAll(async () => {
  const listenerA = await listen();
  const listenerB = await listen();
  const connectTo = `a.test=127.0.0.1:${listenerA.port},b.test=127.0.0.1:${listenerB.port}`;
  [a, b] = await Promise.all([
    startTestProvider({ domain: "a.test", listener: listenerA, connectTo }),
    startTestProvider({ domain: "b.test", listener: recording(listenerB), connectTo }),
  ]);
  aliceToken = await createAccount(a, "alice");
  await enrolDevice(a, aliceToken, "alice");
  for (const user of ["bob", "dan"]) {
    const token = await createAccount(b, user);
    const device = await enrolDevice(b, token, user);
    expect((await uploadFresh(b, token, device, 2)).status).toBe(201);
  }
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

const claim = (user: string) =>
  call(`${a.base}/api/v1/keypackages/claim`, { body: { acct: `acct:${user}@b.test` }, token: aliceToken });

describe("signatures of claims to other providers", () => {
  it("signs with RFC 9421 and the requester's Ed25519 key at a peer publishing Multikeys", async () => {
    const res = await claim("bob");
    expect(res.status).toBe(200);
    const last = claimsAtB.at(-1);
    expect(String(last?.["signature-input"])).toContain('keyid="http://a.test/users/alice#ed25519-key"');
  });

  it("signs again with draft-cavage when the peer refuses RFC 9421", async () => {
    refuseRfc9421 = true;
    // A fresh process would not know b.test; this one remembers RFC 9421 worked, so the knock
    // order starts with it and falls back once.
    const before = claimsAtB.length;
    const res = await claim("dan");
    expect(res.status).toBe(200);
    const knocks = claimsAtB.slice(before);
    expect(knocks).toHaveLength(2);
    expect(knocks[0]?.["signature-input"]).toBeDefined();
    expect(String(knocks[1]?.signature)).toContain('keyId="http://a.test/users/alice#main-key"');
  });
});
