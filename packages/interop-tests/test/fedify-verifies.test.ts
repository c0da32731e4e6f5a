import { doesActorOwnKey, getDocumentLoader, verifyRequest } from "@fedify/fedify";
import { Activity } from "@fedify/vocab";
import { postNote } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { type CapturedRequest, FakeHost } from "./support/fake-host.js";
import { type FedifyActor, serveFedifyActor } from "./support/fedify-actor.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { createUser, type OurProvider, type OurUser, startOurProvider, waitFor } from "./support/provider.js";

/**
 * Our provider signs, Fedify verifies. `rita@remote.test` is a fake host's actor; alice@a.test writes to
 * her and claims her KeyPackages, so our provider fetches rita's actor (a GET signed as its instance
 * actor) and POSTs to remote.test (a delivery and a claim, signed as alice). Every signed request that
 * reached remote.test is verified with Fedify's `verifyRequest`, which fetches our keys with Fedify's
 * document loader.
 */
describe.skipIf(!fedifyRuns)(`Fedify verifies every request our provider sends (${NEEDS_NODE_22})`, () => {
  let remote: FakeHost;
  let ours: OurProvider;
  let rita: FedifyActor;
  let alice: OurUser;
  let restoreFetch: () => Promise<void>;
  const documentLoader = getDocumentLoader({ allowPrivateAddress: true });

  beforeAll(async () => {
    remote = new FakeHost("remote.test");
    await remote.listen();
    rita = await serveFedifyActor(remote, "rita", {
      "mimi:keyPackageClaim": `${remote.origin}/users/rita/keyPackages/claim`,
    });
    remote.serveJson(
      "/.well-known/webfinger",
      {
        subject: "acct:rita@remote.test",
        links: [{ rel: "self", type: "application/activity+json", href: rita.id.href }],
      },
      "application/jrd+json",
    );
    ours = await startOurProvider("a.test", new Map([["remote.test", remote.port]]));
    restoreFetch = routeFetchToLocalPorts(new Map([["a.test", ours.port]]));
    alice = await createUser(ours, "alice");
  });

  afterAll(async () => {
    await restoreFetch?.();
    await ours?.close();
    await remote?.close();
  });

  async function verify(captured: CapturedRequest) {
    return await verifyRequest(remote.toRequest(captured), { documentLoader, contextLoader: documentLoader });
  }

  it("a delivery to a remote actor: the actor GET and the inbox POST both verify", async () => {
    const id = `${alice.actor}/activities/${Date.now()}`;
    const res = await postNote(ours.local, alice, { id, content: "hi rita", to: [rita.id.href] });
    expect(res.status, await res.clone().text()).toBe(202);
    const delivery = await waitFor("the delivery at remote.test", async () =>
      remote.received.find((r) => r.method === "POST" && r.body.toString("utf8").includes(id)),
    );
    expect(delivery.path).toBe("/inbox");

    const key = await verify(delivery);
    expect(key?.id?.href).toBe(`${alice.actor}#main-key`);
    expect(key?.ownerId?.href).toBe(alice.actor);
    // Fedify's own authorship rule: the activity's actor owns the key that signed the request.
    const activity = await Activity.fromJsonLd(JSON.parse(delivery.body.toString("utf8")), {
      documentLoader,
      contextLoader: documentLoader,
    });
    expect(activity.id?.href).toBe(id);
    expect(await doesActorOwnKey(activity, key!, { documentLoader, contextLoader: documentLoader })).toBe(
      true,
    );

    const actorGet = remote.received.find((r) => r.method === "GET" && r.path === rita.id.pathname);
    expect(actorGet).toBeDefined();
    const instanceKey = await verify(actorGet!);
    expect(instanceKey?.ownerId?.href).toBe(`${ours.url}/actor`);
  });

  it("a KeyPackage claim: the signed claim POST verifies as the requesting user", async () => {
    const res = await fetch(`${ours.local}/api/v1/keypackages/claim`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ acct: "rita@remote.test" }),
    });
    // remote.test answers the claim 202 with no body, which our provider reports as a failed claim.
    expect(res.status).toBeGreaterThanOrEqual(400);
    const claim = remote.received.find(
      (r) => r.method === "POST" && r.path === "/users/rita/keyPackages/claim",
    );
    expect(claim).toBeDefined();
    const key = await verify(claim!);
    expect(key?.ownerId?.href).toBe(alice.actor);
  });

  it("every signed request remote.test received verifies, and only WebFinger came unsigned", async () => {
    expect(remote.received.length).toBeGreaterThanOrEqual(4);
    for (const captured of remote.received) {
      const signed =
        captured.headers.signature !== undefined || captured.headers["signature-input"] !== undefined;
      if (!signed) {
        expect(
          captured.path.startsWith("/.well-known/webfinger?"),
          `${captured.method} ${captured.path}`,
        ).toBe(true);
        continue;
      }
      const key = await verify(captured);
      expect(key, `${captured.method} ${captured.path}`).not.toBeNull();
      expect(key?.ownerId?.origin).toBe(ours.url);
    }
  });

  it("Fedify refuses one of those requests with its body changed (the check above can fail)", async () => {
    const delivery = remote.received.find((r) => r.method === "POST" && r.path === "/inbox");
    expect(delivery).toBeDefined();
    const changed = {
      ...delivery!,
      body: Buffer.from(delivery!.body.toString("utf8").replace("hi rita", "hi mallory")),
    };
    expect(await verify(changed)).toBeNull();
    const signedElsewhere = { ...delivery!, path: "/users/rita/inbox" };
    expect(await verify(signedElsewhere)).toBeNull();
  });
});
