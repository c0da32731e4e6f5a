import type { Sql } from "@mimi/store";
import { type DeliveryRequest, deliveryRequestKey, deliveryRequestsTopic } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliverySettings } from "../src/service.js";
import { type FakeRemote, startFakeRemote } from "./fake-remote.js";
import {
  createSendersDatabase,
  eventually,
  type RunningFanout,
  startFanout,
  testActorKeys,
  testSettings,
} from "./harness.js";

const ALICE = "http://a.test/users/alice";
const ZOE = "http://a.test/users/zoe";
const CHANNEL = "http://a.test/channels/general";
const BOB = "http://b.test/users/bob";
const DAVE = "http://c.test/users/dave";

let sql: Sql;
let counter = 0;

beforeAll(async () => {
  sql = await createSendersDatabase(["alice", "zoe"], [ALICE, ZOE, CHANNEL]);
});
afterAll(async () => {
  await sql.close();
});

/** An application message (a `Create` of a `PrivateMessage`) from `signAs` to `audience`. */
function message(signAs: string, audience: string[], name: string): DeliveryRequest {
  const id = `${signAs}/activities/${name}-${++counter}`;
  return {
    activityId: id,
    activity: {
      "@context": "https://www.w3.org/ns/activitystreams",
      id,
      type: "Create",
      actor: signAs,
      object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAEAAg==" },
      to: audience,
    },
    signAs,
    audience,
    exclude: [],
    requestedAt: new Date().toISOString(),
  };
}

/** Published as the channel sequencer and inbox-ingest do: keyed by the signer, so expanded in order. */
async function send(fanout: RunningFanout, ...requests: DeliveryRequest[]): Promise<void> {
  for (const request of requests) {
    await fanout.bus.publish(deliveryRequestsTopic.name, [
      deliveryRequestsTopic.message(deliveryRequestKey(request), request),
    ]);
  }
}

/** Activity ids in the order the remote first accepted them (a later copy of one is ignored). */
function firstAccepted(remote: FakeRemote): string[] {
  return [...new Set(remote.accepted())];
}

/**
 * The window rule seen from the receiver: no POST of message i arrives before every message at least
 * `window` places before it (in `order`) was accepted. Returns the POSTs that broke it.
 */
function windowViolations(remote: FakeRemote, order: string[], window: number): string[] {
  const accepted = new Set<string>();
  const violations: string[] = [];
  for (const post of remote.posts) {
    const id = String((JSON.parse(post.body) as { id?: unknown }).id);
    const index = order.indexOf(id);
    if (index < 0) continue;
    for (let earlier = 0; earlier <= index - window; earlier++) {
      if (!accepted.has(order[earlier] as string)) violations.push(`${id} before ${order[earlier]}`);
    }
    if (post.status >= 200 && post.status <= 299) accepted.add(id);
  }
  return violations;
}

async function heldCounts(): Promise<{ pairs: number; jobs: number }> {
  const pairs = await sql.query<{ n: number }>("select count(*)::int as n from delivery.held_pairs");
  const jobs = await sql.query<{ n: number }>("select count(*)::int as n from delivery.held_jobs");
  return { pairs: pairs.rows[0]?.n ?? 0, jobs: jobs.rows[0]?.n ?? 0 };
}

async function remoteFor(host: string, users: string[]): Promise<FakeRemote> {
  return startFakeRemote({
    host,
    users,
    sharedInbox: true,
    senderKeys: testActorKeys(sql),
  });
}

function settingsWith(overrides: Partial<DeliverySettings>): DeliverySettings {
  return testSettings({ sendWindow: 16, ...overrides });
}

describe("order through failures", () => {
  it.each([
    { window: 1, label: "one at a time" },
    { window: 4, label: "four application messages at once" },
  ])(
    "a destination that fails for a while and recovers gets every message, in order ($label)",
    async ({ window }) => {
      const remote = await remoteFor("b.test", ["bob"]);
      const fanout = await startFanout(sql, {
        connectTo: { "b.test": remote.port },
        settings: settingsWith({
          sendsPerDestination: window,
          // A cool-down long enough for a burst of messages to meet the open breaker together.
          breaker: { failureThreshold: 3, cooldownMs: 1_000, maxCooldownMs: 1_000, probeTimeoutMs: 2_000 },
        }),
      });
      try {
        const requests = Array.from({ length: 14 }, (_, index) => message(ALICE, [BOB], `m${index + 1}`));
        const order = requests.map((request) => request.activityId);
        await send(fanout, ...requests.slice(0, 3));
        await eventually(() => remote.accepted().length === 3);

        remote.respondWith(503);
        await send(fanout, requests[3] as DeliveryRequest);
        await eventually(() => fanout.ctx.breakers.stateOf("http://b.test").phase === "open");
        await send(fanout, ...requests.slice(4, 10));
        // Everything from the first failure on is held.
        await eventually(async () => (await heldCounts()).jobs === 7);
        remote.respondWith(202);
        await send(fanout, ...requests.slice(10));

        await eventually(() => firstAccepted(remote).length === order.length);
        if (window === 1) expect(firstAccepted(remote)).toEqual(order);
        expect(windowViolations(remote, order, window)).toEqual([]);
        await eventually(async () => (await heldCounts()).pairs === 0);
        expect(await heldCounts()).toEqual({ pairs: 0, jobs: 0 });
      } finally {
        await fanout.stop();
        await remote.close();
      }
    },
  );

  it("holds only the failing pair: other signers to that destination and the signer's other destinations flow", async () => {
    const b = await remoteFor("b.test", ["bob"]);
    const c = await remoteFor("c.test", ["dave"]);
    let aliceRefused = true;
    // b.test refuses alice's POSTs for now, and takes the channel's.
    b.answerWith((post) =>
      aliceRefused && String(post.headers.signature).includes(`keyId="${ALICE}#main-key"`) ? 503 : undefined,
    );
    const fanout = await startFanout(sql, {
      connectTo: { "b.test": b.port, "c.test": c.port },
      settings: settingsWith({
        sendsPerDestination: 1,
        // Never opens here: the point is what the pair hold does on its own.
        breaker: { failureThreshold: 1_000, cooldownMs: 50, maxCooldownMs: 200, probeTimeoutMs: 2_000 },
      }),
    });
    try {
      const fromAlice = Array.from({ length: 4 }, (_, index) => message(ALICE, [BOB, DAVE], `a${index}`));
      const fromChannel = Array.from({ length: 4 }, (_, index) => message(CHANNEL, [BOB], `c${index}`));
      for (let index = 0; index < 4; index++) {
        await send(fanout, fromAlice[index] as DeliveryRequest, fromChannel[index] as DeliveryRequest);
      }
      const channelOrder = fromChannel.map((request) => request.activityId);
      const aliceOrder = fromAlice.map((request) => request.activityId);
      await eventually(() => firstAccepted(b).length === 4 && firstAccepted(c).length === 4);
      expect(firstAccepted(b)).toEqual(channelOrder);
      expect(firstAccepted(c)).toEqual(aliceOrder);
      // Alice's first message to b.test failed; none of her later ones went there.
      const aliceToB = b.posts
        .map((post) => String((JSON.parse(post.body) as { id?: unknown }).id))
        .filter((id) => aliceOrder.includes(id));
      expect(new Set(aliceToB)).toEqual(new Set([aliceOrder[0]]));

      aliceRefused = false;
      await eventually(() => firstAccepted(b).length === 8);
      expect(firstAccepted(b).filter((id) => aliceOrder.includes(id))).toEqual(aliceOrder);
    } finally {
      await fanout.stop();
      await b.close();
      await c.close();
    }
  });

  it("keeps the order across a restart, and a redelivered job neither overtakes nor doubles", async () => {
    const remote = await remoteFor("b.test", ["bob"]);
    remote.respondWith(503);
    const settings = settingsWith({
      sendsPerDestination: 1,
      breaker: { failureThreshold: 3, cooldownMs: 50, maxCooldownMs: 200, probeTimeoutMs: 2_000 },
    });
    const requests = Array.from({ length: 6 }, (_, index) => message(ALICE, [BOB], `r${index + 1}`));
    const order = requests.map((request) => request.activityId);
    const first = await startFanout(sql, { connectTo: { "b.test": remote.port }, settings });
    await send(first, ...requests.slice(0, 4));
    await eventually(async () => (await heldCounts()).jobs === 4);
    await first.stop({ keepHeld: true });

    const second = await startFanout(sql, { connectTo: { "b.test": remote.port }, settings });
    try {
      // r2 again, as the bus delivers a record a second time after a crash, then new messages.
      await send(second, requests[1] as DeliveryRequest, ...requests.slice(4));
      await eventually(async () => (await heldCounts()).jobs === 6);
      await eventually(() => remote.posts.length >= 2);
      // Only the oldest message was tried: nothing passed it while it failed.
      expect(new Set(remote.posts.map((post) => (JSON.parse(post.body) as { id: string }).id))).toEqual(
        new Set([order[0]]),
      );
      remote.respondWith(202);
      await eventually(() => firstAccepted(remote).length === order.length);
      expect(firstAccepted(remote)).toEqual(order);
      expect(remote.accepted()).toEqual(order);
      await eventually(async () => (await heldCounts()).pairs === 0);
    } finally {
      await second.stop();
      await remote.close();
    }
  });

  it("a destination whose breaker closes again gets its held pairs at once, not at the end of their backoff", async () => {
    const remote = await remoteFor("b.test", ["bob"]);
    remote.respondWith(503);
    const fanout = await startFanout(sql, {
      connectTo: { "b.test": remote.port },
      settings: settingsWith({
        sendsPerDestination: 1,
        // A failed pair waits at least 30 s on its own.
        retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, lifetimeMs: 600_000, maxAttempts: 100 },
        breaker: { failureThreshold: 2, cooldownMs: 50, maxCooldownMs: 200, probeTimeoutMs: 2_000 },
      }),
    });
    try {
      const fromAlice = message(ALICE, [BOB], "held-1");
      const fromChannel = message(CHANNEL, [BOB], "held-2");
      await send(fanout, fromAlice, fromChannel);
      // Two failures: both pairs held for their backoff, and the breaker open.
      await eventually(
        async () =>
          (await heldCounts()).pairs === 2 && fanout.ctx.breakers.stateOf("http://b.test").phase === "open",
      );
      remote.respondWith(202);
      // A third signer's message is deferred by the open breaker, then goes out as its probe.
      const fromZoe = message(ZOE, [BOB], "probe");
      await send(fanout, fromZoe);
      await eventually(() => firstAccepted(remote).length === 3);
      expect(new Set(firstAccepted(remote))).toEqual(
        new Set([fromAlice.activityId, fromChannel.activityId, fromZoe.activityId]),
      );
      expect(firstAccepted(remote)[0]).toBe(fromZoe.activityId);
    } finally {
      await fanout.stop();
      await remote.close();
    }
  });
});
