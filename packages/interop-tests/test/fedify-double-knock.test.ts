import { postNote, type SeenRequest, TestFront } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { FedifyServer } from "./support/fedify-server.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { createUser, type OurProvider, type OurUser, startOurProvider, waitFor } from "./support/provider.js";

function schemeOf(request: SeenRequest): "rfc9421" | "cavage" | "unsigned" {
  if (request.headers["signature-input"] !== undefined) return "rfc9421";
  return request.headers.signature === undefined ? "unsigned" : "cavage";
}

/**
 * Our provider double-knocks at a server built on Fedify's `Federation`. Fedify's actor lists FEP-521a
 * Multikeys, so our provider presumes it reads RFC 9421 and signs its delivery with alice's Ed25519 key
 * first. Fedify 2.3.6 verifies HTTP signatures only with `publicKey` keys and refuses it (401); the
 * delivery is signed again with draft-cavage and accepted, and the next delivery to that origin goes
 * straight to draft-cavage. Every request our provider sends to fedify.test passes a recording front.
 */
describe.skipIf(!fedifyRuns)(`our provider double-knocks at a Fedify server (${NEEDS_NODE_22})`, () => {
  let fedify: FedifyServer;
  let front: TestFront;
  let ours: OurProvider;
  let alice: OurUser;
  let restoreFetch: () => Promise<void>;

  beforeAll(async () => {
    fedify = await FedifyServer.create();
    await fedify.listen(fedify.federation("rfc9421"));
    front = new TestFront(fedify.port);
    await front.listen();
    ours = await startOurProvider("a.test", new Map([[fedify.host, front.port]]));
    restoreFetch = routeFetchToLocalPorts(new Map([["a.test", ours.port]]));
    alice = await createUser(ours, "alice");
  });

  afterAll(async () => {
    await restoreFetch?.();
    await ours?.close();
    await front?.close();
    await fedify?.close();
  });

  async function deliver(content: string): Promise<string> {
    const id = `${alice.actor}/activities/${Date.now()}-${content.replace(/\W/g, "")}`;
    const res = await postNote(ours.local, alice, { id, content, to: [`${fedify.origin}/users/fed`] });
    expect(res.status, await res.clone().text()).toBe(202);
    await waitFor(`"${content}" in Fedify's inbox listener`, async () =>
      fedify.accepted.find((activity) => activity.id?.href === id),
    );
    return id;
  }

  const knocks = () =>
    front.seen.filter((seen) => seen.method === "POST").map((seen) => `${schemeOf(seen)} ${seen.status}`);

  it("RFC 9421 first where Multikeys are published; refused, then accepted with draft-cavage", async () => {
    await deliver("first");
    const fetchedFirst = front.seen.find((seen) => seen.method === "GET" && seen.path === "/users/fed");
    // The first contact with fedify.test: nothing known yet, so draft-cavage, which Fedify verified.
    expect(fetchedFirst && schemeOf(fetchedFirst)).toBe("cavage");
    expect(fetchedFirst?.status).toBe(200);
    expect(knocks()).toEqual(["rfc9421 401", "cavage 202"]);
    const [refused, accepted] = front.seen.filter((seen) => seen.method === "POST");
    expect(String(refused?.headers["signature-input"])).toContain(`keyid="${alice.actor}#ed25519-key"`);
    expect(String(accepted?.headers.signature)).toContain(`keyId="${alice.actor}#main-key"`);
    // The same activity both times, byte for byte.
    expect(refused?.body.equals(accepted?.body ?? Buffer.alloc(0))).toBe(true);
  });

  it("the next delivery goes straight to draft-cavage: the refusal was remembered for the origin", async () => {
    const before = knocks().length;
    await deliver("second");
    expect(knocks().slice(before)).toEqual(["cavage 202"]);
    expect(fedify.accepted.filter((activity) => activity.actorId?.href === alice.actor)).toHaveLength(2);
  });
});
