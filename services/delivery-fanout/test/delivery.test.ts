import { type BusRecord, jsonValue } from "@mimi/bus";
import type { Sql } from "@mimi/store";
import { type DeliveryRequest, deliveryJobsTopic, deliveryRequestsTopic } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOMAIN_UNAVAILABLE, deliveryBody } from "../src/service.js";
import { type FakeRemote, reservePort, startFakeRemote } from "./fake-remote.js";
import {
  createSendersDatabase,
  eventually,
  type RunningFanout,
  sleep,
  startFanout,
  testActorKeys,
  testSettings,
} from "./harness.js";

const ALICE = "http://a.test/users/alice";
let sql: Sql;
let activityCounter = 0;

beforeAll(async () => {
  // Alice signs every delivery below.
  sql = await createSendersDatabase(["alice", "zoe"], [ALICE]);
});
afterAll(async () => {
  await sql.close();
});

function request(audience: string[], overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  const id = `http://a.test/activities/${++activityCounter}`;
  return {
    activityId: id,
    activity: {
      "@context": "https://www.w3.org/ns/activitystreams",
      id,
      type: "Create",
      actor: ALICE,
      to: audience,
      bcc: ["http://x.test/secret"],
    },
    signAs: ALICE,
    audience,
    exclude: [],
    requestedAt: new Date().toISOString(),
    ...overrides,
  };
}

async function publishRequest(fanout: RunningFanout, req: DeliveryRequest) {
  await fanout.bus.publish(deliveryRequestsTopic.name, [deliveryRequestsTopic.message(req.activityId, req)]);
}

/** Records the bus puts on `delivery.jobs.dead`. */
async function watchDeadJobs(fanout: RunningFanout): Promise<BusRecord[]> {
  const dead: BusRecord[] = [];
  await fanout.bus.subscribe({
    groupId: "test-dead-watcher",
    topics: [`${deliveryJobsTopic.name}.dead`],
    handle: async (record) => {
      dead.push(record);
      return { kind: "ok" };
    },
  });
  return dead;
}

async function deadLettersFor(activityId: string) {
  const result = await sql.query<{
    inbox: string | null;
    reason: string;
    attempts: number;
    recipients: string[];
  }>("select inbox, reason, attempts, recipients from delivery.dead_letters where activity_id = $1", [
    activityId,
  ]);
  return result.rows;
}

describe("fan-out", () => {
  it("expands actors and collections, POSTs once per destination, signs verifiably, skips excluded and routes local users to their mailbox", async () => {
    const fanoutKeys = await startFanout(sql); // only to reach the key store before the remotes start
    const keys = fanoutKeys.ctx.actorKeys;
    await fanoutKeys.stop();
    await keys.ensure(ALICE);
    const b = await startFakeRemote({
      host: "b.test",
      users: ["bob", "carol", "mallory"],
      sharedInbox: true,
      followers: ["http://b.test/users/bob", "http://b.test/users/carol", ALICE],
      collectionPath: "/lists/friends",
      senderKeys: keys,
    });
    const c = await startFakeRemote({
      host: "c.test",
      users: ["dave"],
      sharedInbox: false,
      senderKeys: keys,
    });
    const aliceList = "http://a.test/users/alice/lists/close";
    const fanout = await startFanout(sql, {
      connectTo: { "b.test": b.port, "c.test": c.port },
      localCollections: async (url) =>
        url === aliceList ? ["http://c.test/users/dave", "http://a.test/users/zoe"] : undefined,
    });
    try {
      const req = request(
        [
          "http://b.test/lists/friends",
          "http://b.test/users/bob",
          aliceList,
          "http://b.test/users/mallory",
          "https://www.w3.org/ns/activitystreams#Public",
        ],
        { exclude: ["http://b.test/users/mallory"] },
      );
      await publishRequest(fanout, req);
      await eventually(() => b.posts.length === 1 && c.posts.length === 1);
      const mailbox = await eventually(async () => {
        const zoe = await fanout.ctx.mailbox.page("zoe", 0, 10);
        const alice = await fanout.ctx.mailbox.page("alice", 0, 10);
        return zoe.length === 1 && alice.length === 1 ? { zoe, alice } : undefined;
      });
      await sleep(200);
      // Bob and carol share b.test's inbox: one POST there; dave has only a personal inbox.
      expect(b.posts).toHaveLength(1);
      expect(b.posts[0]?.path).toBe("/inbox");
      expect(c.posts.map((post) => post.path)).toEqual(["/users/dave/inbox"]);
      for (const post of [...b.posts, ...c.posts]) {
        expect(post.verified).toEqual({ ok: true, keyOwner: ALICE });
        expect(post.body).toBe(deliveryBody(req.activity));
        expect(post.headers["content-type"]).toBe("application/activity+json");
        expect(post.headers.signature).toContain(`keyId="${ALICE}#main-key"`);
        expect(post.headers.signature).toContain('headers="(request-target) host date digest content-type"');
      }
      expect(JSON.parse(b.posts[0]?.body ?? "{}")).not.toHaveProperty("bcc");
      expect(mailbox.zoe[0]?.activityId).toBe(req.activityId);
      // A local delivery names the local signer as the one who delivered it.
      expect(mailbox.zoe[0]?.deliveredBy).toBe(ALICE);
      expect(mailbox.alice[0]?.activity).toEqual(req.activity);
      expect(await deadLettersFor(req.activityId)).toEqual([]);
      // Actors are cached in SQL with a TTL.
      const cached = await sql.query<{ actor_id: string; shared_inbox: string | null }>(
        "select actor_id, shared_inbox from delivery.remote_actors order by actor_id",
      );
      expect(cached.rows).toContainEqual({
        actor_id: "http://b.test/users/bob",
        shared_inbox: "http://b.test/inbox",
      });
      expect(cached.rows).toContainEqual({ actor_id: "http://c.test/users/dave", shared_inbox: null });
    } finally {
      await fanout.stop();
      await b.close();
      await c.close();
    }
  });

  it("makes a bounded number of requests for an activity addressed to a large remote collection", async () => {
    const fanoutKeys = await startFanout(sql);
    const keys = fanoutKeys.ctx.actorKeys;
    await fanoutKeys.stop();
    await keys.ensure(ALICE);
    // 1,500 members, served one per page, each an actor of the third party.
    const members = Array.from({ length: 1_500 }, (_, index) => `u${index}`);
    const third = await startFakeRemote({
      host: "t.test",
      users: members,
      sharedInbox: false,
      followers: members.map((name) => `http://t.test/users/${name}`),
      collectionPath: "/lists/everyone",
      senderKeys: keys,
    });
    const budget = 60;
    const fanout = await startFanout(sql, {
      connectTo: { "t.test": third.port },
      settings: testSettings({
        collections: {
          maxCollectionItems: 10_000,
          maxCollectionPages: 10_000,
          maxCollectionFetches: budget,
          fetchConcurrency: 4,
        },
      }),
    });
    try {
      const req = request(["http://t.test/lists/everyone"]);
      await publishRequest(fanout, req);
      await eventually(() => third.gets.length > budget);
      await sleep(500);
      // The collection itself, then the budget: pages first, then members' actor documents.
      expect(third.gets).toHaveLength(1 + budget);
      expect(third.posts.length).toBeLessThanOrEqual(budget);
    } finally {
      await fanout.stop();
      await third.close();
    }
  });

  it("keeps retrying a destination that is down and delivers once it is back", async () => {
    const port = await reservePort();
    const fanout = await startFanout(sql, { connectTo: { "down.test": port } });
    await fanout.ctx.actorCache.put(
      {
        id: "http://down.test/users/dan",
        inbox: "http://down.test/users/dan/inbox",
        sharedInbox: undefined,
        publicKeyId: undefined,
      },
      Date.now(),
    );
    let remote: FakeRemote | undefined;
    try {
      const req = request(["http://down.test/users/dan"]);
      await publishRequest(fanout, req);
      // Not listening: connection refused, the job is stored (its pair held) and tried again, several times.
      await eventually(async () => {
        const held = await sql.query<{ attempts: number }>("select attempts from delivery.held_jobs");
        // The third failed attempt opened the breaker.
        return held.rows.some((row) => row.attempts >= 3);
      });
      expect(fanout.ctx.breakers.stateOf("http://down.test").phase).not.toBe("closed");
      remote = await startFakeRemote({
        host: "down.test",
        port,
        users: ["dan"],
        sharedInbox: false,
        senderKeys: fanout.ctx.actorKeys,
      });
      // First answers are 503 (still starting up), then it accepts.
      remote.respondWith(503, { "retry-after": "0" });
      await eventually(() => (remote?.posts.length ?? 0) >= 1);
      remote.respondWith(202);
      // Delivered: the breaker closed (the probe succeeded) and nothing is held any more.
      await eventually(
        async () =>
          fanout.ctx.breakers.stateOf("http://down.test").phase === "closed" &&
          (await sql.query("select 1 from delivery.held_pairs")).rows.length === 0 &&
          (remote?.posts.length ?? 0) >= 2,
      );
      expect(remote.posts.at(-1)?.verified.ok).toBe(true);
      expect(fanout.ctx.breakers.stateOf("http://down.test")).toEqual({
        phase: "closed",
        consecutiveFailures: 0,
      });
      expect(await deadLettersFor(req.activityId)).toEqual([]);
      // The success cleared the failure record.
      expect((await fanout.ctx.health.load("http://down.test")).failureDays).toEqual([]);
    } finally {
      await fanout.stop();
      await remote?.close();
    }
  });

  it.each([
    { window: 1, how: "the bus copies the record to the dead topic" },
    { window: 16, how: "queued and answered pending, the bus copies the record once it settles" },
  ])("dead-letters a 410 at once, without retrying (send window $window: $how)", async ({ window }) => {
    const fanout = await startFanout(sql);
    const remote = await startFakeRemote({
      host: "gone.test",
      users: ["gus"],
      sharedInbox: false,
      senderKeys: fanout.ctx.actorKeys,
    });
    await fanout.stop();
    const running = await startFanout(sql, {
      connectTo: { "gone.test": remote.port },
      settings: testSettings({ sendWindow: window }),
    });
    try {
      remote.respondWith(410);
      const dead = await watchDeadJobs(running);
      const req = request(["http://gone.test/users/gus"]);
      await publishRequest(running, req);
      const rows = await eventually(async () => {
        const found = await deadLettersFor(req.activityId);
        return found.length > 0 ? found : undefined;
      });
      expect(rows).toEqual([
        {
          inbox: "http://gone.test/users/gus/inbox",
          reason: "refused: HTTP 410",
          attempts: 1,
          recipients: ["http://gone.test/users/gus"],
        },
      ]);
      await eventually(() => dead.length === 1);
      expect(dead[0]?.headers["bus-dead-reason"]).toBe("refused: HTTP 410");
      await sleep(200);
      expect(remote.posts).toHaveLength(1);
      expect((await sql.query("select 1 from delivery.held_jobs")).rows).toHaveLength(0);
    } finally {
      await running.stop();
      await remote.close();
    }
  });

  it("opens the breaker after consecutive failures and holds the destination's jobs without requests until the cool-down", async () => {
    const probe = await startFanout(sql);
    const keys = probe.ctx.actorKeys;
    await probe.stop();
    const remote = await startFakeRemote({
      host: "flaky.test",
      users: ["fay"],
      sharedInbox: true,
      senderKeys: keys,
    });
    remote.respondWith(500);
    const settings = testSettings({
      breaker: { failureThreshold: 3, cooldownMs: 60_000, maxCooldownMs: 60_000, probeTimeoutMs: 2_000 },
      retry: { baseDelayMs: 20, maxDelayMs: 200, lifetimeMs: 600_000, maxAttempts: 100 },
    });
    const fanout = await startFanout(sql, { connectTo: { "flaky.test": remote.port }, settings });
    try {
      await publishRequest(fanout, request(["http://flaky.test/users/fay"]));
      await eventually(() => fanout.ctx.breakers.stateOf("http://flaky.test").phase === "open");
      expect(remote.posts).toHaveLength(3);
      // More activities to the same destination while the breaker is open: stored behind the first, not sent.
      for (let i = 0; i < 3; i++) await publishRequest(fanout, request(["http://flaky.test/users/fay"]));
      await eventually(async () => {
        const held = await sql.query<{ reason: string }>("select reason from delivery.held_pairs");
        const stored = await sql.query("select 1 from delivery.held_jobs");
        return held.rows[0]?.reason === "circuit open" && stored.rows.length === 4;
      });
      await sleep(200);
      expect(remote.posts).toHaveLength(3);
    } finally {
      await fanout.stop();
      await remote.close();
    }
  });

  it("skips and dead-letters deliveries to an unavailable domain until it is marked available", async () => {
    const probe = await startFanout(sql);
    const keys = probe.ctx.actorKeys;
    await probe.stop();
    const remote = await startFakeRemote({
      host: "sleepy.test",
      users: ["sam"],
      sharedInbox: false,
      senderKeys: keys,
    });
    const fanout = await startFanout(sql, { connectTo: { "sleepy.test": remote.port } });
    try {
      const day = 86_400_000;
      const start = Date.parse("2025-01-01T10:00:00Z");
      for (let i = 0; i < 7; i++)
        await fanout.ctx.health.recordFailure("http://sleepy.test", start + i * day);
      const skipped = request(["http://sleepy.test/users/sam"]);
      await publishRequest(fanout, skipped);
      const rows = await eventually(async () => {
        const found = await deadLettersFor(skipped.activityId);
        return found.length > 0 ? found : undefined;
      });
      expect(rows[0]?.reason).toBe(DOMAIN_UNAVAILABLE);
      expect(remote.posts).toHaveLength(0);

      const { markDomainAvailable } = await import("../src/service.js");
      await markDomainAvailable(sql, "http://sleepy.test");
      const delivered = request(["http://sleepy.test/users/sam"]);
      await publishRequest(fanout, delivered);
      await eventually(() => remote.posts.length === 1);
      expect(JSON.parse(remote.posts[0]?.body ?? "{}").id).toBe(delivered.activityId);
    } finally {
      await fanout.stop();
      await remote.close();
    }
  });

  it("expands a channel's followers for the channel only: a non-member's bcc to them reaches no member", async () => {
    const channel = "http://a.test/channels/general";
    const followers = `${channel}/followers`;
    const keys = testActorKeys(sql);
    await keys.ensure(channel);
    const c = await startFakeRemote({
      host: "c.test",
      users: ["dave"],
      sharedInbox: false,
      senderKeys: keys,
    });
    const members = ["http://c.test/users/dave", "http://a.test/users/zoe"];
    const fanout = await startFanout(sql, {
      connectTo: { "c.test": c.port },
      localCollections: async (url) => (url === followers ? members : undefined),
    });
    try {
      // Alice is no member; her client put the channel's followers in bcc, which ends up in the audience.
      const intrusion = request([followers], {
        activity: {
          "@context": "https://www.w3.org/ns/activitystreams",
          id: "http://a.test/users/alice/activities/intrusion",
          type: "Create",
          actor: ALICE,
          object: { type: "PrivateMessage", content: "AAEAAg==" },
          bcc: [followers],
        },
        activityId: "http://a.test/users/alice/activities/intrusion",
      });
      await publishRequest(fanout, intrusion);
      // The channel forwarding its own activity reaches both members.
      const forwarded = request([followers], {
        signAs: channel,
        activityId: "http://a.test/channels/general/activities/1",
        activity: {
          "@context": "https://www.w3.org/ns/activitystreams",
          id: "http://a.test/channels/general/activities/1",
          type: "Create",
          actor: ALICE,
          object: { type: "PrivateMessage", content: "AAEAAg==" },
          to: [followers],
        },
      });
      await publishRequest(fanout, forwarded);
      await eventually(
        async () => c.posts.length === 1 && (await fanout.ctx.mailbox.page("zoe", 0, 50)).length > 0,
      );
      await sleep(200);
      expect(c.posts.map((post) => JSON.parse(post.body).id)).toEqual([forwarded.activityId]);
      expect(c.posts[0]?.verified).toEqual({ ok: true, keyOwner: channel });
      const zoe = await fanout.ctx.mailbox.page("zoe", 0, 50);
      expect(zoe.map((item) => item.activityId)).toContain(forwarded.activityId);
      expect(zoe.map((item) => item.activityId)).not.toContain(intrusion.activityId);
      expect(zoe.find((item) => item.activityId === forwarded.activityId)?.deliveredBy).toBe(channel);
      // Refused, not failed: nothing to retry or dead-letter.
      expect(await deadLettersFor(intrusion.activityId)).toEqual([]);
    } finally {
      await fanout.stop();
      await c.close();
    }
  });

  it("dead-letters audience entries that cannot be resolved for good", async () => {
    const fanout = await startFanout(sql);
    try {
      const req = request(["http://a.test/users/nobody"]);
      await publishRequest(fanout, req);
      const rows = await eventually(async () => {
        const found = await deadLettersFor(req.activityId);
        return found.length > 0 ? found : undefined;
      });
      expect(rows[0]).toMatchObject({ inbox: null, recipients: ["http://a.test/users/nobody"] });
      expect(rows[0]?.reason).toContain("no local account nobody");
    } finally {
      await fanout.stop();
    }
  });

  it("dead-letters a job whose payload is not a delivery job", async () => {
    const fanout = await startFanout(sql);
    try {
      const dead = await watchDeadJobs(fanout);
      await fanout.bus.publish(deliveryJobsTopic.name, [{ key: "x", value: jsonValue({ nonsense: true }) }]);
      await eventually(() => dead.length === 1);
      expect(dead[0]?.headers["bus-dead-reason"]).toContain("invalid delivery.jobs payload");
    } finally {
      await fanout.stop();
    }
  });
});
