import { createPublicKey } from "node:crypto";
import { createInProcessBus } from "@mimi/bus";
import { type KeyResolver, signRequest } from "@mimi/http-signatures";
import { afterEach, describe, expect, it } from "vitest";
import { FakeRemote, freePort, recordingBus, startFakeRemote, TestFront } from "../src/index.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const bytes = (text: string) => new TextEncoder().encode(text);

async function remote(options: ConstructorParameters<typeof FakeRemote>[0] = {}): Promise<FakeRemote> {
  const started = await startFakeRemote(options);
  closers.push(() => started.close());
  return started;
}

describe("FakeRemote", () => {
  it("answers what was served, then POSTs with 202, then 404, and keeps every request", async () => {
    const fake = await remote({ host: "b.test" });
    const base = `http://127.0.0.1:${fake.port}`;
    fake.serve("/doc", { status: 200, body: { id: "x" } });
    fake.serve("/gone", { status: 410 });
    expect(await (await fetch(`${base}/doc`)).json()).toEqual({ id: "x" });
    expect((await fetch(`${base}/gone`)).status).toBe(410);
    expect((await fetch(`${base}/doc?page=1`)).status).toBe(404);
    expect((await fetch(`${base}/inbox`, { method: "POST", body: '{"id":"a"}' })).status).toBe(202);
    fake.respondWith(503);
    expect((await fetch(`${base}/inbox`, { method: "POST", body: '{"id":"b"}' })).status).toBe(503);
    expect(fake.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /doc",
      "GET /gone",
      "GET /doc?page=1",
      "POST /inbox",
      "POST /inbox",
    ]);
    expect(fake.accepted()).toEqual(["a"]);
    expect(fake.posts.map((p) => p.verified)).toEqual([
      { ok: false, reason: "unchecked" },
      { ok: false, reason: "unchecked" },
    ]);
  });

  it("serves its actors' keys and verifies POSTs signed with them", async () => {
    let published: { owner: string; pem: string } | undefined;
    const verifyWith: KeyResolver = {
      async resolve(keyId) {
        if (!published) return { ok: false, reason: "keyFetchError", detail: "no key yet" };
        const publicKey = createPublicKey(published.pem);
        return { ok: true, key: { keyId, owner: published.owner, publicKey }, fromCache: false };
      },
    };
    const fake = new FakeRemote({ host: "b.test", verifyWith });
    const bob = fake.addActor("/users/bob", { keyType: "ed25519" });
    await fake.listen();
    closers.push(() => fake.close());
    const served = (await (await fetch(`http://127.0.0.1:${fake.port}/users/bob`)).json()) as {
      publicKey: { publicKeyPem: string };
    };
    published = { owner: bob.id, pem: served.publicKey.publicKeyPem };
    const url = `http://127.0.0.1:${fake.port}/inbox`;
    const body = JSON.stringify({ id: "signed" });
    const headers = signRequest(
      { method: "POST", url, headers: { "content-type": "application/json" }, body },
      bob.key,
    );
    delete headers.host;
    await fetch(url, { method: "POST", headers, body });
    await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(fake.posts.map((p) => p.verified.ok)).toEqual([true, false]);
  });

  it("pages its followers one member per page", async () => {
    const fake = await remote({ host: "b.test", followers: ["m1", "m2"], users: ["bob"], sharedInbox: true });
    const base = `http://127.0.0.1:${fake.port}`;
    const first = (await (await fetch(`${base}/followers`)).json()) as { first: string; totalItems: number };
    expect(first).toMatchObject({ totalItems: 2, first: "http://b.test/followers?page=0" });
    const page = (await (await fetch(`${base}/followers?page=0`)).json()) as Record<string, unknown>;
    expect(page).toMatchObject({ orderedItems: ["m1"], next: "http://b.test/followers?page=1" });
    const bob = (await (await fetch(`${base}/users/bob`)).json()) as Record<string, unknown>;
    expect(bob).toMatchObject({
      id: "http://b.test/users/bob",
      endpoints: { sharedInbox: "http://b.test/inbox" },
    });
    expect(fake.gets).toEqual(["/followers", "/followers?page=0", "/users/bob"]);
  });
});

describe("recordingBus", () => {
  it("keeps what is published and fails the next publish once when asked", async () => {
    const bus = recordingBus();
    closers.push(() => bus.close());
    await bus.publish("t", [{ key: "k", value: bytes("1") }]);
    bus.failNextPublish = true;
    await expect(bus.publish("t", [{ key: "k", value: bytes("2") }])).rejects.toThrow("broker unavailable");
    await bus.publish("t", [{ key: "k", value: bytes("3") }]);
    expect(
      bus.published.flatMap((batch) => batch.messages.map((m) => Buffer.from(m.value).toString())),
    ).toEqual(["1", "3"]);
    expect(bus.consumers()).toEqual(createInProcessBus().consumers());
  });
});

describe("TestFront", () => {
  it("forwards and records, refuses connections while down, and comes back on its port", async () => {
    const upstream = await remote();
    const front = new TestFront(upstream.port);
    await front.listen();
    closers.push(() => front.close());
    const url = `http://127.0.0.1:${front.port}/inbox`;
    expect((await fetch(url, { method: "POST", body: "x" })).status).toBe(202);
    await front.down();
    await expect(fetch(url, { method: "POST", body: "y" })).rejects.toThrow();
    await front.up();
    upstream.respondWith(500);
    expect((await fetch(url, { method: "POST", body: "z" })).status).toBe(500);
    expect(front.posts("/inbox").map((r) => [r.body.toString(), r.status])).toEqual([
      ["x", 202],
      ["z", 500],
    ]);
    front.forwardTo(await freePort());
    expect((await fetch(url)).status).toBe(502);
    expect(front.seen.at(-1)?.status).toBe(502);
  });
});
