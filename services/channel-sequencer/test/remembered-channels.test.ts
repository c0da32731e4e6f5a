import type { SignedGetResult } from "@mimi/http-signatures";
import { createApp, createMetrics, type RunningServer, startServer } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChannelSequencerContext, channelSequencerRouter } from "../src/service.js";
import {
  A,
  actors,
  createAccount,
  createTestCas,
  createTestContext,
  createTestDatabase,
  recordingBus,
} from "./harness.js";

/**
 * The remote channels a user's clients report, so a new device of theirs finds them: recorded only
 * when the channel's own server lists the user, listed newest first, per user.
 */

const REMOTE = "http://c.test/channels/garden";
const ELSEWHERE = "http://c.test/channels/closed";
const MOVED = "http://c.test/channels/moved";

/** c.test as the instance actor's signed GETs see it. */
async function fakeSignedGet(url: string): Promise<SignedGetResult> {
  if (url === `${REMOTE}/followers`)
    return {
      kind: "document",
      status: 200,
      url,
      document: { type: "OrderedCollection", orderedItems: [actors.alice, actors.bob] },
    };
  if (url === `${ELSEWHERE}/followers`) return { kind: "status", status: 403, permanent: true, url };
  if (url === `${MOVED}/followers`)
    return {
      kind: "document",
      status: 200,
      url: "http://d.test/followers",
      document: { orderedItems: [actors.alice] },
    };
  return { kind: "status", status: 404, permanent: true, url };
}

let sql: Sql;
let ctx: ChannelSequencerContext;
let server: RunningServer;
let base: string;
const tokens: Record<string, string> = {};
const bus = recordingBus();

beforeAll(async () => {
  sql = await createTestDatabase();
  ({ ctx } = createTestContext({
    sql,
    bus,
    cas: await createTestCas(),
    overrides: { signedGet: fakeSignedGet },
  }));
  for (const user of ["alice", "erin"]) tokens[user] = await createAccount(sql, user);
  const app = createApp({
    logger: ctx.logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [channelSequencerRouter(ctx)],
  });
  server = await startServer(app, { port: 0, host: "127.0.0.1", logger: ctx.logger });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  await ctx.close();
  await bus.close();
  await sql.close();
});

function call(method: "GET" | "PUT", path: string, token: string | undefined) {
  return fetch(`${base}${path}`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

const remember = (channel: string, token: string | undefined) =>
  call("PUT", `/api/v1/channels/remembered?channel=${encodeURIComponent(channel)}`, token);

async function listed(token: string): Promise<string[]> {
  const res = await call("GET", "/api/v1/channels/remembered", token);
  expect(res.status).toBe(200);
  return ((await res.json()) as { channels: { id: string }[] }).channels.map((channel) => channel.id);
}

describe("remembered remote channels", () => {
  it("records a remote channel whose own server lists the user, and lists it for that user only", async () => {
    expect((await remember(REMOTE, tokens.alice)).status).toBe(204);
    expect((await remember(REMOTE, tokens.alice)).status).toBe(204);
    expect(await listed(tokens.alice as string)).toEqual([REMOTE]);
    expect(await listed(tokens.erin as string)).toEqual([]);
  });

  it("refuses what the channel's server does not confirm, and records nothing", async () => {
    expect((await remember(REMOTE, tokens.erin)).status).toBe(403);
    expect((await remember(ELSEWHERE, tokens.alice)).status).toBe(403);
    expect((await remember("http://c.test/channels/unknown", tokens.alice)).status).toBe(404);
    expect((await remember(MOVED, tokens.alice)).status).toBe(502);
    expect((await remember("not a url", tokens.alice)).status).toBe(400);
    expect((await remember(REMOTE, undefined)).status).toBe(401);
    expect(await listed(tokens.alice as string)).toEqual([REMOTE]);
    expect(await listed(tokens.erin as string)).toEqual([]);
  });

  it("does not record a local channel: its membership is the channel's own", async () => {
    expect((await remember(`${A}/channels/AAAAAAAAAAAAAAAAAAAAAA`, tokens.alice)).status).toBe(204);
    expect(await listed(tokens.alice as string)).toEqual([REMOTE]);
  });
});
