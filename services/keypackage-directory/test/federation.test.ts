import { readClientCertificate } from "@mimi/credentials";
import { decodeKeyPackage, readKeyPackage } from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  createAccount,
  enrolDevice,
  listen,
  startTestProvider,
  type TestDevice,
  type TestProvider,
  uploadFresh,
} from "./harness.js";

/** Two providers, a.test and b.test, on two ports, reaching each other through the connectTo mapping. */
let a: TestProvider;
let b: TestProvider;
let aliceToken: string;
let carolToken: string;
let bobToken: string;
let bobDevices: TestDevice[];
let carol: TestDevice;

interface Item {
  content: string;
  ciphersuite: string;
  "mimi:client": string;
  "mimi:lastResort"?: boolean;
}

beforeAll(async () => {
  const listenerA = await listen();
  const listenerB = await listen();
  const connectTo = `a.test=127.0.0.1:${listenerA.port},b.test=127.0.0.1:${listenerB.port}`;
  [a, b] = await Promise.all([
    startTestProvider({ domain: "a.test", listener: listenerA, connectTo }),
    startTestProvider({ domain: "b.test", listener: listenerB, connectTo }),
  ]);
  aliceToken = await createAccount(a, "alice");
  await enrolDevice(a, aliceToken, "alice");
  carolToken = await createAccount(a, "carol");
  carol = await enrolDevice(a, carolToken, "carol");
  expect((await uploadFresh(a, carolToken, carol, 2)).status).toBe(201);
  bobToken = await createAccount(b, "bob");
  bobDevices = [
    await enrolDevice(b, bobToken, "bob", "phone"),
    await enrolDevice(b, bobToken, "bob", "laptop"),
  ];
  for (const device of bobDevices) expect((await uploadFresh(b, bobToken, device, 2)).status).toBe(201);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

async function bobCounts() {
  const res = await call(`${b.base}/api/v1/keypackages`, { token: bobToken });
  return res.body.clients as Array<{ clientId: string; available: number; hasLastResort: boolean }>;
}

describe("claims through the home server", () => {
  it("claims a remote user's KeyPackages with a signed request to the other provider", async () => {
    const res = await call(`${a.base}/api/v1/keypackages/claim`, {
      body: { acct: "acct:bob@b.test", ciphersuites: ["MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"] },
      token: aliceToken,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      type: "Collection",
      attributedTo: "http://b.test/users/bob",
      totalItems: 2,
    });
    const items = res.body.items as Item[];
    expect(new Set(items.map((item) => item["mimi:client"]))).toEqual(
      new Set(bobDevices.map((d) => d.clientId)),
    );
    for (const item of items) {
      const decoded = decodeKeyPackage(new Uint8Array(Buffer.from(item.content, "base64")));
      if (!decoded.ok) throw new Error(decoded.detail);
      const credential = readKeyPackage(decoded.keyPackage).credential;
      if (credential.credentialType !== "x509") throw new Error("expected an x509 credential");
      const leaf = readClientCertificate(credential.certificates[0]!);
      expect(leaf.ok && leaf.contents.acct).toBe("acct:bob@b.test");
      expect(leaf.ok && leaf.contents.clientId).toBe(item["mimi:client"]);
    }
    expect((await bobCounts()).map((client) => client.available)).toEqual([1, 1]);

    // B recorded who claimed: the requesting user's actor on A, verified by fetching its key from A.
    const claimedBy = await b.sql.query<{ claimed_by: string }>(
      "select distinct claimed_by from keypackages.key_packages where claimed_by is not null",
    );
    expect(claimedBy.rows.map((row) => row.claimed_by)).toEqual(["http://a.test/users/alice"]);
  });

  it("accepts the short acct form and serves last resorts once the pools are empty", async () => {
    await call(`${a.base}/api/v1/keypackages/claim`, { body: { acct: "bob@b.test" }, token: aliceToken });
    const res = await call(`${a.base}/api/v1/keypackages/claim`, {
      body: { acct: "bob@b.test" },
      token: aliceToken,
    });
    expect(res.status).toBe(200);
    expect((res.body.items as Item[]).every((item) => item["mimi:lastResort"] === true)).toBe(true);
    expect(await bobCounts()).toEqual([
      expect.objectContaining({ available: 0, hasLastResort: true }),
      expect.objectContaining({ available: 0, hasLastResort: true }),
    ]);
  });

  it("claims a local user directly", async () => {
    const res = await call(`${a.base}/api/v1/keypackages/claim`, {
      body: { acct: "carol@a.test" },
      token: aliceToken,
    });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([expect.objectContaining({ "mimi:client": carol.clientId })]);
    const counts = await call(`${a.base}/api/v1/keypackages`, { token: carolToken });
    expect(counts.body.clients).toEqual([expect.objectContaining({ available: 1, hasLastResort: true })]);
  });

  it("answers 404 for unknown users, local and remote, and 400 for a bad acct", async () => {
    expect(
      (
        await call(`${a.base}/api/v1/keypackages/claim`, {
          body: { acct: "nobody@b.test" },
          token: aliceToken,
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call(`${a.base}/api/v1/keypackages/claim`, {
          body: { acct: "nobody@a.test" },
          token: aliceToken,
        })
      ).status,
    ).toBe(404);
    expect(
      (await call(`${a.base}/api/v1/keypackages/claim`, { body: { acct: "not an acct" }, token: aliceToken }))
        .status,
    ).toBe(400);
    expect((await call(`${a.base}/api/v1/keypackages/claim`, { body: { acct: "bob@b.test" } })).status).toBe(
      401,
    );
  });

  it("answers 502 when the other provider cannot be reached, naming no address of ours", async () => {
    const res = await call(`${a.base}/api/v1/keypackages/claim`, {
      body: { acct: "bob@unreachable.test" },
      token: aliceToken,
    });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ reason: "remoteClaimFailed" });
    // What the outbound request ran into (a refused connection to a mapped or resolved address) stays in the logs.
    const answer = JSON.stringify(res.body);
    expect(answer).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|resolves|address/i);
  });
});
