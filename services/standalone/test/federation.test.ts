import { type FakeRemote, postNote, startFakeRemote } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, type Federation, startFederation, waitFor } from "./support/federation.js";
import { readSse } from "./support/sse.js";

/**
 * Two standalone providers exchanging activities the Mastodon way: alice@a.test writes to bob and
 * carol on b.test; a fake provider c.test answers 410.
 */
let federation: Federation;
let gone: FakeRemote;
let alice: { token: string; actor: string };
let bob: { token: string; actor: string };
let carol: { token: string; actor: string };

beforeAll(async () => {
  // c.test: an actor whose inbox is gone for good.
  gone = await startFakeRemote({ host: "c.test" });
  gone.serve("/users/dave", {
    status: 200,
    body: {
      id: "http://c.test/users/dave",
      type: "Person",
      inbox: "http://c.test/users/dave/inbox",
      publicKey: {
        id: "http://c.test/users/dave#main-key",
        owner: "http://c.test/users/dave",
        publicKeyPem: "",
      },
    },
  });
  gone.respondWith(410);
  federation = await startFederation(["a.test", "b.test"], {
    extraHosts: { "c.test": gone.port },
  });
  alice = await createUser(federation.get("a.test"), "alice");
  bob = await createUser(federation.get("b.test"), "bob");
  carol = await createUser(federation.get("b.test"), "carol");
});

afterAll(async () => {
  await federation?.close();
  await gone?.close();
});

let counter = 0;
async function post(to: string[]): Promise<{ id: string; status: number }> {
  counter += 1;
  const id = `${alice.actor}/activities/${Date.now()}-${counter}`;
  const res = await postNote(federation.get("a.test").local, alice, { id, content: `hello ${counter}`, to });
  return { id, status: res.status };
}

async function mailbox(token: string): Promise<{ activityId: string }[]> {
  const res = await fetch(`${federation.get("b.test").local}/api/v1/mailbox`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { activityId: string }[] }).items;
}

describe("federation between two standalone providers", () => {
  it("delivers to bob and carol through one signed POST to b.test's shared inbox, live to bob's stream", async () => {
    const b = federation.get("b.test");
    const abort = new AbortController();
    const stream = await fetch(`${b.local}/api/v1/mailbox/stream`, {
      headers: { authorization: `Bearer ${bob.token}`, accept: "text/event-stream" },
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    const events = readSse(stream.body!);

    const sharedBefore = b.front.posts("/inbox").length;
    const sent = await post([bob.actor, carol.actor]);
    expect(sent.status).toBe(202);

    const live = await events.next();
    expect(JSON.parse(live.value!.data)).toMatchObject({ activityId: sent.id });

    await waitFor("carol's mailbox", async () =>
      (await mailbox(carol.token)).some((i) => i.activityId === sent.id) ? true : undefined,
    );
    expect((await mailbox(bob.token)).filter((i) => i.activityId === sent.id)).toHaveLength(1);
    const posts = b.front.posts("/inbox").slice(sharedBefore);
    expect(posts).toHaveLength(1);
    // bob's actor document lists a Multikey, so a.test signs for b.test with RFC 9421 and alice's Ed25519 key.
    expect(String(posts[0]!.headers["signature-input"])).toContain(
      'keyid="http://a.test/users/alice#ed25519-key"',
    );
    expect(b.front.posts("/users/bob/inbox")).toHaveLength(0);
    abort.abort();
  });

  it("keeps trying while b.test is down and delivers once it is back", async () => {
    const b = federation.get("b.test");
    await b.front.down();
    const sent = await post([bob.actor]);
    expect(sent.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await b.front.up();
    await waitFor("bob's mailbox after b.test came back", async () =>
      (await mailbox(bob.token)).some((i) => i.activityId === sent.id) ? true : undefined,
    );
    expect((await mailbox(bob.token)).filter((i) => i.activityId === sent.id)).toHaveLength(1);
  });

  it("dead-letters a delivery answered with 410, without retrying", async () => {
    const sent = await post(["http://c.test/users/dave"]);
    expect(sent.status).toBe(202);
    const a = federation.get("a.test");
    const dead = await waitFor("a dead letter", async () => {
      const rows = await a.provider.sql.query<{ reason: string; attempts: number }>(
        "select reason, attempts from delivery.dead_letters where activity_id = $1",
        [sent.id],
      );
      return rows.rows[0];
    });
    expect(dead.reason).toContain("410");
    expect(dead.attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(gone.posts.filter((post) => post.path === "/users/dave/inbox")).toHaveLength(1);
  });
});
