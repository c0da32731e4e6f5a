import { createActorKeyStore } from "@mimi/actor-keys";
import { createMetrics } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import {
  type DeliveryJob,
  type DeliveryRequest,
  deliveryJobsTopic,
  deliveryRequestsTopic,
} from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitBlockedAudience } from "../src/domain/blocked-destinations.js";
import { type FakeRemote, startFakeRemote } from "./fake-remote.js";
import {
  createAccount,
  createTestDatabase,
  eventually,
  KEK,
  type RunningFanout,
  sleep,
  startFanout,
} from "./harness.js";

/**
 * The operator's domain blocks in delivery: an audience entry on a blocked domain (or below one) is
 * dropped before anything is fetched, a job for a blocked destination is given up without a request,
 * and both are counted.
 */
const ALICE = "http://a.test/users/alice";
let sql: Sql;
let evil: FakeRemote;
let remote: FakeRemote;
let fanout: RunningFanout;
const metrics = createMetrics({ defaultMetrics: false });
let counter = 0;

beforeAll(async () => {
  sql = await createTestDatabase();
  await createAccount(sql, "alice");
  const keys = createActorKeyStore(sql, Buffer.from(KEK, "base64"));
  await keys.ensure(ALICE);
  await sql.query("insert into identity.blocked_domains (domain, source) values ('evil.test', 'config')");
  evil = await startFakeRemote({ host: "evil.test", users: ["eve"], sharedInbox: false, senderKeys: keys });
  remote = await startFakeRemote({
    host: "remote.test",
    users: ["carol"],
    sharedInbox: false,
    senderKeys: keys,
  });
  fanout = await startFanout(sql, {
    connectTo: { "evil.test": evil.port, "x.evil.test": evil.port, "remote.test": remote.port },
    metrics,
  });
});
afterAll(async () => {
  await fanout?.stop();
  await evil?.close();
  await remote?.close();
  await sql?.close();
});

function request(audience: string[]): DeliveryRequest {
  const id = `http://a.test/users/alice/activities/blocks-${++counter}`;
  return {
    activityId: id,
    activity: {
      "@context": "https://www.w3.org/ns/activitystreams",
      id,
      type: "Create",
      actor: ALICE,
      to: audience,
    },
    signAs: ALICE,
    audience,
    exclude: [],
    requestedAt: new Date().toISOString(),
  };
}

async function blockedCount(stage: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric("mimi_delivery_blocked_domain_total")?.get();
  return metric?.values.find((value) => value.labels.stage === stage)?.value ?? 0;
}

describe("domain blocks in delivery", () => {
  it("drops audience entries on a blocked domain and its subdomains before fetching them", async () => {
    const req = request([
      "http://evil.test/users/eve",
      "http://x.evil.test/users/imp",
      "http://remote.test/users/carol",
    ]);
    await fanout.bus.publish(deliveryRequestsTopic.name, [
      deliveryRequestsTopic.message(req.activityId, req),
    ]);
    await eventually(() => remote.posts.length === 1);
    await sleep(200);
    expect(evil.gets).toEqual([]);
    expect(evil.posts).toEqual([]);
    const dead = await sql.query("select 1 from delivery.dead_letters where activity_id = $1", [
      req.activityId,
    ]);
    expect(dead.rows).toEqual([]);
  });

  it("gives up a job for a blocked destination without a request, and does not retry it", async () => {
    const activityId = `http://a.test/users/alice/activities/blocks-${++counter}`;
    const job: DeliveryJob = {
      activityId,
      body: JSON.stringify({ id: activityId, type: "Create", actor: ALICE }),
      signAs: ALICE,
      inbox: "http://x.evil.test/users/eve/inbox",
      recipients: ["http://x.evil.test/users/eve"],
      firstAttemptAt: new Date().toISOString(),
    };
    await fanout.bus.publish(deliveryJobsTopic.name, [
      deliveryJobsTopic.message("http://x.evil.test", job, { "delivery-attempt": "1" }),
    ]);
    const rows = await eventually(async () => {
      const found = await sql.query<{ reason: string; attempts: number }>(
        "select reason, attempts from delivery.dead_letters where activity_id = $1",
        [activityId],
      );
      return found.rows.length > 0 ? found.rows : undefined;
    });
    expect(rows).toEqual([{ reason: "domainBlocked", attempts: 1 }]);
    await sleep(200);
    expect(evil.posts).toEqual([]);
    expect(await blockedCount("send")).toBe(1);
  });

  it("withholds a user's delivery from local recipients who blocked them, not from the others", async () => {
    await createAccount(sql, "zed");
    await createAccount(sql, "yan");
    await sql.query(
      "insert into identity.user_blocks (username, target, kind) values ('zed', 'alice@a.test', 'user')",
    );
    const req = request(["http://a.test/users/zed", "http://a.test/users/yan"]);
    await fanout.bus.publish(deliveryRequestsTopic.name, [
      deliveryRequestsTopic.message(req.activityId, req),
    ]);
    await eventually(async () => (await fanout.ctx.mailbox.page("yan", 0, 10)).length === 1);
    await sleep(200);
    expect(await fanout.ctx.mailbox.page("zed", 0, 10)).toEqual([]);
  });

  it("splits an audience by the blocks, keeping what is not a URL for expansion to report", () => {
    expect(
      splitBlockedAudience(
        ["http://evil.test/a", "https://ok.test/b", "nonsense", "http://EVIL.test:81/c"],
        new Set(["evil.test"]),
      ),
    ).toEqual({
      allowed: ["https://ok.test/b", "nonsense"],
      blocked: ["http://evil.test/a", "http://EVIL.test:81/c"],
    });
  });
});
