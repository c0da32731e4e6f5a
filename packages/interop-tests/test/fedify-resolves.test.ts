import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fetchKey,
  getDocumentLoader,
  type HttpMessageSignaturesSpec,
  parseNodeInfo,
  signRequest,
} from "@fedify/fedify";
import {
  Application,
  CryptographicKey,
  type LookupObjectOptions,
  lookupObject,
  Person,
  Service,
} from "@fedify/vocab";
import { lookupWebFinger } from "@fedify/webfinger";
import { MimiClient, ProviderApi, StateStore } from "@mimi/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { FakeHost } from "./support/fake-host.js";
import { type FedifyActor, serveFedifyActor } from "./support/fedify-actor.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { type OurProvider, startOurProvider, waitFor } from "./support/provider.js";

/**
 * Fedify discovers our users and channels: its WebFinger client, document loader, `lookupObject` and
 * `fetchKey` read what a.test serves and see actors with the inbox, followers and key we publish. A
 * Fedify-signed GET of a channel's member-only documents gets past our signature check to the
 * membership rule.
 */
describe.skipIf(!fedifyRuns)(`Fedify resolves our users and channels (${NEEDS_NODE_22})`, () => {
  let ours: OurProvider;
  let homes: string;
  let restoreFetch: () => Promise<void>;
  let client: MimiClient | undefined;
  let channelUrl: string;
  const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
  // `allowPrivateAddress` reaches lookupObject's WebFinger step (a.test is routed to 127.0.0.1), though
  // LookupObjectOptions does not declare it.
  const lookupOptions: LookupObjectOptions & { allowPrivateAddress: true } = {
    documentLoader,
    contextLoader: documentLoader,
    allowPrivateAddress: true,
  };

  let fedifyHost: FakeHost;
  let fed: FedifyActor;

  beforeAll(async () => {
    fedifyHost = new FakeHost("fedify.test");
    await fedifyHost.listen();
    fed = await serveFedifyActor(fedifyHost, "fed");
    ours = await startOurProvider("a.test", new Map([["fedify.test", fedifyHost.port]]));
    restoreFetch = routeFetchToLocalPorts(new Map([["a.test", ours.port]]));
    homes = mkdtempSync(join(tmpdir(), "mimi-interop-homes-"));

    // alice signs up, registers a device and creates a channel with our own client.
    const api = new ProviderApi({ server: ours.local });
    const created = await api.createAccount("alice", "alice's password");
    const me = await api.withToken(created.token).me();
    const home = join(homes, "alice");
    await new StateStore(home).saveAccount({
      server: api.server,
      username: me.username,
      acct: me.acct,
      actor: me.actor,
      token: created.token,
    });
    client = new MimiClient({ home, connectTo: ours.connectTo });
    const device = await client.addDevice("alice's laptop");
    expect(device.keyPackages.ok).toBe(true);
    const channel = await client.createChannel("interop");
    channelUrl = channel.url;
    await waitFor("the channel actor", async () =>
      (await fetch(`${ours.local}${new URL(channelUrl).pathname}`)).status === 200 ? true : undefined,
    );
  });

  afterAll(async () => {
    await client?.close();
    await restoreFetch?.();
    await ours?.close();
    await fedifyHost?.close();
    if (homes) rmSync(homes, { recursive: true, force: true });
  });

  it("lookupWebFinger finds alice by acct: and by actor URL, with an ActivityPub self link", async () => {
    const byAcct = await lookupWebFinger("acct:alice@a.test", { allowPrivateAddress: true });
    expect(byAcct?.subject).toBe("acct:alice@a.test");
    expect(byAcct?.links).toContainEqual(
      expect.objectContaining({
        rel: "self",
        type: "application/activity+json",
        href: "http://a.test/users/alice",
      }),
    );
    const byUrl = await lookupWebFinger("http://a.test/users/alice", { allowPrivateAddress: true });
    expect(byUrl?.subject).toBe("acct:alice@a.test");
    expect(await lookupWebFinger("acct:nobody@a.test", { allowPrivateAddress: true })).toBeNull();
  });

  it("lookupObject resolves acct:alice@a.test to a Person with inbox, followers, shared inbox and key", async () => {
    const person = await lookupObject("acct:alice@a.test", lookupOptions);
    expect(person).toBeInstanceOf(Person);
    if (!(person instanceof Person)) return;
    expect(person.id?.href).toBe("http://a.test/users/alice");
    expect(person.preferredUsername?.toString()).toBe("alice");
    expect(person.inboxId?.href).toBe("http://a.test/users/alice/inbox");
    expect(person.outboxId?.href).toBe("http://a.test/users/alice/outbox");
    expect(person.followersId?.href).toBe("http://a.test/users/alice/followers");
    expect(person.endpoints?.sharedInbox?.href).toBe("http://a.test/inbox");
    const key = await person.getPublicKey(lookupOptions);
    expect(key?.id?.href).toBe("http://a.test/users/alice#main-key");
    expect(key?.ownerId?.href).toBe("http://a.test/users/alice");
    expect(key?.publicKey?.algorithm.name).toBe("RSASSA-PKCS1-v1_5");
  });

  it("lookupObject resolves the channel to a Service with its inbox, followers and key", async () => {
    const service = await lookupObject(channelUrl, lookupOptions);
    expect(service).toBeInstanceOf(Service);
    if (!(service instanceof Service)) return;
    expect(service.id?.href).toBe(channelUrl);
    expect(service.inboxId?.href).toBe(`${channelUrl}/inbox`);
    expect(service.followersId?.href).toBe(`${channelUrl}/followers`);
    const key = await service.getPublicKey(lookupOptions);
    expect(key?.id?.href).toBe(`${channelUrl}#main-key`);
    expect(key?.ownerId?.href).toBe(channelUrl);
    expect(key?.publicKey?.algorithm.name).toBe("RSASSA-PKCS1-v1_5");
  });

  it("lookupObject resolves the instance actor that signs our GETs to an Application with a key", async () => {
    const instance = await lookupObject("http://a.test/actor", lookupOptions);
    expect(instance).toBeInstanceOf(Application);
    if (!(instance instanceof Application)) return;
    const key = await instance.getPublicKey(lookupOptions);
    expect(key?.ownerId?.href).toBe("http://a.test/actor");
  });

  it("fetchKey, the lookup Fedify's signature verifier makes, finds the user's and the channel's keys", async () => {
    for (const [keyId, owner] of [
      ["http://a.test/users/alice#main-key", "http://a.test/users/alice"],
      [`${channelUrl}#main-key`, channelUrl],
      ["http://a.test/actor#main-key", "http://a.test/actor"],
    ] as const) {
      const { key } = await fetchKey(keyId, CryptographicKey, {
        documentLoader,
        contextLoader: documentLoader,
      });
      expect(key?.id?.href, keyId).toBe(keyId);
      expect(key?.ownerId?.href, keyId).toBe(owner);
    }
  });

  it("Fedify's strict NodeInfo parser reads our NodeInfo: software, ActivityPub, registrations", async () => {
    // getNodeInfo itself only fetches public addresses (it has no allowPrivateAddress), so the test follows
    // the well-known link as it does and hands the document to the same parser.
    const wellKnown = (await (await fetch("http://a.test/.well-known/nodeinfo")).json()) as {
      links: { rel: string; href: string }[];
    };
    const link = wellKnown.links.find((l) => l.rel === "http://nodeinfo.diaspora.software/ns/schema/2.1");
    expect(link?.href).toBe("http://a.test/nodeinfo/2.1");
    const info = parseNodeInfo(await (await fetch(link!.href)).json(), { tryBestEffort: false });
    expect(info?.software.name).toBe("mimi-provider");
    expect(info?.protocols).toEqual(["activitypub"]);
    expect(info?.openRegistrations).toBe(true);
    expect(info?.usage.users.total).toBeGreaterThanOrEqual(1);
  });

  // A channel's member-only documents (section 6.9): a signature our provider cannot verify is 401, a
  // verified signer hosting no member 403. Fedify's signed GETs must get the 403.
  const getSpecs: HttpMessageSignaturesSpec[] = ["draft-cavage-http-signatures-12", "rfc9421"];
  it.each(getSpecs)(
    "a GET of the channel's members and log signed by Fedify (%s) passes our signature check",
    async (spec) => {
      for (const path of ["/followers", "/log?after=0"]) {
        const signed = await signRequest(
          new Request(`${channelUrl}${path}`, { headers: { accept: "application/activity+json" } }),
          fed.privateKey,
          fed.keyId,
          { spec },
        );
        const res = await fetch(signed);
        expect(res.status, `${path}: ${await res.clone().text()}`).toBe(403);
        // The same signature presented for another document does not verify.
        const moved = await fetch(new Request(`${channelUrl}/groupInfo`, { headers: signed.headers }));
        expect(moved.status, path).toBe(401);
      }
    },
  );
});
