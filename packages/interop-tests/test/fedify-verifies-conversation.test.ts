import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchKey, getDocumentLoader, type KeyCache, verifyRequest } from "@fedify/fedify";
import { CryptographicKey, Multikey } from "@fedify/vocab";
import type { ChannelSummary } from "@mimi/client";
import { type SeenRequest, TestFront } from "@mimi/testkit";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { type OurProvider, startOurProvider } from "./support/provider.js";

const DOMAINS = ["a.test", "b.test", "c.test"] as const;

/** The scheme a request was signed with, or `unsigned`. */
function schemeOf(request: SeenRequest): "rfc9421" | "cavage" | "unsigned" {
  if (request.headers["signature-input"] !== undefined) return "rfc9421";
  return request.headers.signature === undefined ? "unsigned" : "cavage";
}

/** The RFC 9421 `keyid` of a request's first signature. */
function rfc9421KeyId(request: SeenRequest): string | undefined {
  return /keyid="([^"]+)"/.exec(String(request.headers["signature-input"]))?.[1];
}

/** The request as the provider behind `front` received it, for Fedify's `verifyRequest`. */
function asFetchRequest(domain: string, seen: SeenRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(seen.headers)) {
    if (value === undefined || name === "connection" || name === "transfer-encoding") continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const hasBody = seen.method !== "GET" && seen.method !== "HEAD";
  return new Request(`http://${domain}${seen.path}`, {
    method: seen.method,
    headers,
    ...(hasBody ? { body: seen.body } : {}),
  });
}

/**
 * Three of our providers hold a channel conversation while Fedify checks every server-to-server
 * request: each provider's public address is a recording front (a reverse proxy), and afterwards every
 * request a front passed on is verified with Fedify's `verifyRequest`, which fetches the signer's key
 * from our actor documents with Fedify's document loader. Requests between our providers use both
 * schemes: draft-cavage (RSA, `publicKey`) to an origin not seen yet and for claims, RFC 9421
 * (Ed25519, `assertionMethod`) once the origin's documents showed FEP-521a keys.
 *
 * Fedify 2.3.6's `verifyRequest` looks keys up in `publicKey` only (its own actors sign HTTP requests
 * with RSA); for an RFC 9421 key id the test resolves the FEP-521a Multikey with Fedify's `fetchKey(keyId,
 * Multikey)` (the actor's `assertionMethod`) and hands it to `verifyRequest` through its key cache, so
 * both the key lookup and the signature check are Fedify's.
 */
describe.skipIf(!fedifyRuns)(
  `Fedify verifies every request of a three-provider conversation (${NEEDS_NODE_22})`,
  () => {
    const fronts = new Map<string, TestFront>();
    const providers = new Map<string, OurProvider>();
    const homes = mkdtempSync(join(tmpdir(), "mimi-interop-homes-"));
    const clients = new TestClients(() => ({
      server: (domain) => providers.get(domain)?.local ?? "",
      home: (name) => join(homes, name),
      // Clients check other domains' credentials directly, not through the fronts.
      connectTo: [...providers].map(([domain, p]) => `${domain}=127.0.0.1:${p.port}`).join(","),
    }));
    const client = (user: string) => clients.client(user);
    let channel: ChannelSummary;
    let restoreFetch: () => Promise<void>;
    const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
    const multikeys = new Map<string, CryptographicKey>();
    const keyCache: KeyCache = {
      async get(keyId) {
        return multikeys.get(keyId.href);
      },
      async set() {},
    };

    async function fedifyVerifies(domain: string, seen: SeenRequest) {
      const keyId = rfc9421KeyId(seen);
      if (keyId !== undefined && !multikeys.has(keyId)) {
        const { key } = await fetchKey(keyId, Multikey, { documentLoader, contextLoader: documentLoader });
        if (key?.publicKey && key.controllerId) {
          multikeys.set(
            keyId,
            new CryptographicKey({ id: key.id, owner: key.controllerId, publicKey: key.publicKey }),
          );
        }
      }
      return await verifyRequest(asFetchRequest(domain, seen), {
        documentLoader,
        contextLoader: documentLoader,
        keyCache,
      });
    }

    beforeAll(async () => {
      for (const domain of DOMAINS) {
        const front = new TestFront();
        await front.listen();
        fronts.set(domain, front);
      }
      for (const domain of DOMAINS) {
        const peers = new Map(
          DOMAINS.filter((other) => other !== domain).map((other) => [other, fronts.get(other)?.port ?? 0]),
        );
        const provider = await startOurProvider(domain, peers);
        providers.set(domain, provider);
        fronts.get(domain)?.forwardTo(provider.port);
      }
      // Fedify's document loader reaches our providers directly (its fetches are not under test).
      restoreFetch = routeFetchToLocalPorts(new Map([...providers].map(([domain, p]) => [domain, p.port])));
      await clients.signUp("alice", "a.test");
      await clients.signUp("bob", "b.test");
      await clients.signUp("carol", "c.test");
    }, 240_000);

    afterAll(async () => {
      await clients.closeAll();
      await restoreFetch?.();
      for (const provider of providers.values()) await provider.close();
      for (const front of fronts.values()) await front.close();
      rmSync(homes, { recursive: true, force: true });
    });

    it("alice, bob and carol talk in alice's channel across three providers", async () => {
      channel = await client("alice").createChannel("fedify-watches");
      expect((await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
      for (const [user, domain] of [
        ["bob", "b.test"],
        ["carol", "c.test"],
      ] as const) {
        await client("alice").addMember(channel.url, `${user}@${domain}`);
        expect((await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
        await clients.syncUntil(user, "joining", async () =>
          (await client(user).channels()).some((c) => c.url === channel.url),
        );
      }
      await clients.syncUntil(
        "bob",
        "carol's add",
        async () => (await client("bob").channel(channel.url)).epoch === 2,
      );
      for (const [round, user] of ["alice", "bob", "carol", "alice", "bob", "carol"].entries()) {
        await client(user).send(channel.url, `${user} says ${round}`);
      }
      for (const [round, sender] of ["alice", "bob", "carol", "alice", "bob", "carol"].entries()) {
        for (const reader of ["alice", "bob", "carol"].filter((user) => user !== sender)) {
          await clients.syncUntil(reader, `${sender}'s message ${round}`, async () =>
            (await client(reader).messages(channel.url)).messages.some(
              (m) => m.content === `${sender} says ${round}`,
            ),
          );
        }
      }
    }, 240_000);

    it("every signed request between the providers verifies with Fedify, in both schemes", async () => {
      const counts = { rfc9421: 0, cavage: 0, unsigned: 0 };
      const unsigned: string[] = [];
      for (const [domain, front] of fronts) {
        for (const seen of front.seen) {
          const scheme = schemeOf(seen);
          counts[scheme]++;
          if (scheme === "unsigned") {
            unsigned.push(`${seen.method} ${domain}${seen.path}`);
            continue;
          }
          const key = await fedifyVerifies(domain, seen);
          const what = `${scheme} ${seen.method} ${domain}${seen.path} (answered ${seen.status})`;
          expect(key, what).not.toBeNull();
          // The signer is one of the other providers' actors, with the key of the scheme it used.
          expect(
            DOMAINS.filter((other) => other !== domain).map((other) => `http://${other}`),
            what,
          ).toContain(key?.ownerId?.origin);
          expect(key?.id?.hash, what).toBe(scheme === "rfc9421" ? "#ed25519-key" : "#main-key");
        }
      }
      // Only discovery is unsigned (WebFinger, the MIMI configuration).
      for (const line of unsigned) expect(line).toMatch(/^GET [a-c]\.test\/\.well-known\//);
      expect(counts.rfc9421, JSON.stringify(counts)).toBeGreaterThan(0);
      expect(counts.cavage, JSON.stringify(counts)).toBeGreaterThan(0);
      // Deliveries (POSTs to inboxes) went RFC 9421 once the peers' documents showed FEP-521a keys.
      const inboxPosts = [...fronts.values()].flatMap((front) =>
        front.seen.filter((seen) => seen.method === "POST" && seen.path.endsWith("/inbox")),
      );
      expect(inboxPosts.some((seen) => schemeOf(seen) === "rfc9421")).toBe(true);
      // Nothing was refused for its signature: no knock needed a second try.
      const refused = [...fronts.values()].flatMap((front) =>
        front.seen.filter((seen) => seen.status === 401),
      );
      expect(refused.map((seen) => `${seen.method} ${seen.path}`)).toEqual([]);
    });

    it("Fedify refuses an RFC 9421 delivery changed or replayed elsewhere (the check above can fail)", async () => {
      const [domain, delivery] = [...fronts].flatMap(([name, front]) =>
        front.seen
          .filter((seen) => seen.method === "POST" && schemeOf(seen) === "rfc9421" && seen.body.length > 0)
          .map((seen) => [name, seen] as const),
      )[0] ?? ["", undefined];
      expect(delivery).toBeDefined();
      if (!delivery) return;
      expect(await fedifyVerifies(domain, delivery)).not.toBeNull();
      const body = Buffer.from(delivery.body.toString("utf8").replace(/"type":"Create"/, '"type":"Delete"'));
      expect(body.equals(delivery.body)).toBe(false);
      expect(await fedifyVerifies(domain, { ...delivery, body })).toBeNull();
      expect(await fedifyVerifies(domain, { ...delivery, path: "/users/mallory/inbox" })).toBeNull();
      const other =
        DOMAINS.find((name) => name !== domain && !delivery.headers.host?.startsWith(name)) ?? domain;
      expect(
        await fedifyVerifies(other, { ...delivery, headers: { ...delivery.headers, host: other } }),
      ).toBeNull();
    });
  },
);
