import { generateKeyPairSync } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createMemoryRateLimiters } from "@mimi/rate-limits";
import { createApp, createLogger, createMetrics, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inboxRateLimitConfigSpec } from "../src/config.js";
import { inboxIngestRouter } from "../src/router.js";
import {
  activityId,
  createAccount,
  type FakeRemote,
  type IngestWorld,
  postSigned,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

const REMOTE = "http://remote.test";
const BOB = "http://b.test/users/bob";

let world: IngestWorld;
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor;
let dave: RemoteActor;
let bobToken: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  world = await startIngestWorld();
  ({ sql, remote, ingest } = world);
  bobToken = await createAccount(sql, "bob");
  carol = remote.addActor(REMOTE, "/users/carol", "rsa");
  dave = remote.addActor(REMOTE, "/users/dave", "rsa");
});

afterAll(async () => {
  for (const close of closers) await close();
  await world?.close();
});

/** The test's ingest context behind a router of its own, with the limits `env` sets (0 for the rest). */
async function limitedRouter(env: Record<string, string>): Promise<string> {
  const app = createApp({
    logger: createLogger({ name: "limits-test", level: "silent" }),
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [
      inboxIngestRouter(ingest.ctx, {
        rateLimiters: createMemoryRateLimiters(),
        rateLimits: readConfig(inboxRateLimitConfigSpec, {
          MIMI_INBOX_LIMIT_PER_ADDRESS: "0",
          MIMI_INBOX_LIMIT_PER_ORIGIN: "0",
          MIMI_OUTBOX_LIMIT_PER_USER: "0",
          ...env,
        }),
      }),
    ],
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function note(actor: string) {
  return JSON.stringify({
    id: activityId(REMOTE),
    type: "Create",
    actor,
    to: [BOB],
    object: { type: "PrivateMessage" },
  });
}

describe("inbox and outbox request limits", () => {
  it("count an origin's accepted deliveries, and refuse its next ones 429 before reading them", async () => {
    const base = await limitedRouter({ MIMI_INBOX_LIMIT_PER_ORIGIN: "3/60" });
    const statuses = [];
    // Two actors of one origin share its window.
    for (const actor of [carol, dave, carol, dave]) {
      const res = await postSigned(`${base}/users/bob/inbox`, note(actor.id), actor);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([202, 202, 202, 429]);
    const refused = await postSigned(`${base}/inbox`, note(carol.id), carol);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ reason: "rateLimited", limit: "inbox-origin" });
  });

  it("never spend an origin's window on requests whose signature fails", async () => {
    const base = await limitedRouter({ MIMI_INBOX_LIMIT_PER_ORIGIN: "2/60" });
    // Naming carol's key, signed with another: refused 401, and remote.test's window is untouched.
    const forger = {
      keyId: carol.keyId,
      privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
    };
    for (let i = 0; i < 4; i += 1) {
      expect((await postSigned(`${base}/users/bob/inbox`, note(carol.id), forger)).status).toBe(401);
    }
    const statuses = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push((await postSigned(`${base}/users/bob/inbox`, note(carol.id), carol)).status);
    expect(statuses).toEqual([202, 202, 429]);
  });

  it("refuse a client address over its limit, whatever the signature", async () => {
    const base = await limitedRouter({ MIMI_INBOX_LIMIT_PER_ADDRESS: "3/60" });
    const forger = {
      keyId: carol.keyId,
      privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
    };
    expect((await postSigned(`${base}/users/bob/inbox`, note(carol.id), forger)).status).toBe(401);
    expect((await postSigned(`${base}/users/bob/inbox`, note(carol.id), carol)).status).toBe(202);
    expect((await postSigned(`${base}/inbox`, note(carol.id), carol)).status).toBe(202);
    const res = await postSigned(`${base}/users/bob/inbox`, note(carol.id), carol);
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ limit: "inbox-address" });
    // The service's own router (default limits) still accepts.
    expect((await postSigned(`${ingest.base}/users/bob/inbox`, note(carol.id), carol)).status).toBe(202);
  });

  it("count a user's accepted outbox posts, and leave posts without the user's token uncounted", async () => {
    const base = await limitedRouter({ MIMI_OUTBOX_LIMIT_PER_USER: "2/60" });
    const post = (token?: string) =>
      fetch(`${base}/users/bob/outbox`, {
        method: "POST",
        headers: {
          "content-type": "application/activity+json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({
          id: `${BOB}/activities/${crypto.randomUUID()}`,
          type: "Create",
          actor: BOB,
          to: ["http://remote.test/users/carol"],
          object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAEC" },
        }),
      });
    for (let i = 0; i < 3; i += 1) expect((await post()).status).toBe(401);
    expect([(await post(bobToken)).status, (await post(bobToken)).status]).toEqual([202, 202]);
    const refused = await post(bobToken);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ limit: "outbox-user" });
  });
});
