import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Sql } from "@mimi/store";
import type { UserInboxItem } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamRegistryOf } from "../src/routes/stream-registry.js";
import {
  createAccount,
  createTestDatabase,
  eventually,
  publishToMailboxes,
  type RunningFanout,
  startFanout,
  testSettings,
} from "./harness.js";

let sql: Sql;
let fanout: RunningFanout;
let aliceToken: string;
let bobToken: string;
let doraToken: string;
let counter = 0;

beforeAll(async () => {
  sql = await createTestDatabase();
  aliceToken = await createAccount(sql, "alice");
  bobToken = await createAccount(sql, "bob");
  await createAccount(sql, "carol");
  doraToken = await createAccount(sql, "dora");
  fanout = await startFanout(sql, {
    settings: testSettings({
      mailbox: { heartbeatMs: 50, safetyPollMs: 60_000, maxPageSize: 200, defaultPageSize: 50 },
    }),
  });
});
afterAll(async () => {
  await fanout.stop();
  await sql.close();
});

function item(username: string, activityId = `https://b.test/activities/${++counter}`): UserInboxItem {
  return {
    username,
    activityId,
    activity: { id: activityId, type: "Create", actor: "https://b.test/users/bob" },
    deliveredBy: "https://b.test/users/bob",
    receivedAt: new Date().toISOString(),
  };
}

const deliver = (...items: UserInboxItem[]) => publishToMailboxes(fanout.bus, items);

async function getJson(path: string, token?: string) {
  const res = await fetch(`${fanout.base}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      items: Array<{ cursor: number; activityId: string; deliveredBy: string }>;
      next: number;
    },
  };
}

describe("mailbox", () => {
  it("stores one row per user and activity, however often it arrives", async () => {
    const first = item("carol");
    await deliver(first, first, item("carol"), first);
    const rows = await eventually(async () => {
      const page = await fanout.ctx.mailbox.page("carol", 0, 10);
      return page.length === 2 ? page : undefined;
    });
    expect(rows[0]?.activityId).toBe(first.activityId);
    expect(rows[0]!.cursor).toBeLessThan(rows[1]!.cursor);
    await deliver(first);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await fanout.ctx.mailbox.page("carol", 0, 10)).toHaveLength(2);
  });

  it("pages the owner's mailbox and refuses everyone else", async () => {
    const items = [item("alice"), item("alice"), item("alice")];
    await deliver(...items);
    await eventually(async () => (await fanout.ctx.mailbox.page("alice", 0, 10)).length >= 3);

    const first = await getJson("/users/alice/inbox?limit=2", aliceToken);
    expect(first.status).toBe(200);
    expect(first.body.items.map((entry) => entry.activityId)).toEqual([
      items[0]?.activityId,
      items[1]?.activityId,
    ]);
    expect(first.body.next).toBe(first.body.items[1]?.cursor);
    // Who delivered each activity: clients act on a channel's activities only when the channel did.
    expect(first.body.items.map((entry) => entry.deliveredBy)).toEqual([
      "https://b.test/users/bob",
      "https://b.test/users/bob",
    ]);
    const second = await getJson(`/users/alice/inbox?limit=2&after=${first.body.next}`, aliceToken);
    expect(second.body.items.map((entry) => entry.activityId)).toEqual([items[2]?.activityId]);
    const empty = await getJson(`/users/alice/inbox?after=${second.body.next}`, aliceToken);
    expect(empty.body).toEqual({ items: [], next: second.body.next });

    const own = await getJson("/api/v1/mailbox?limit=2", aliceToken);
    expect(own.body).toEqual(first.body);
    expect((await getJson("/api/v1/mailbox", bobToken)).body.items).toEqual([]);

    expect((await getJson("/users/alice/inbox", bobToken)).status).toBe(403);
    expect((await getJson("/users/alice/inbox/stream", bobToken)).status).toBe(403);
    expect((await getJson("/users/alice/inbox")).status).toBe(401);
    expect((await getJson("/api/v1/mailbox", "mimi_not-a-token")).status).toBe(401);
    expect((await getJson("/api/v1/mailbox?after=-1", aliceToken)).status).toBe(400);
  });

  it("streams new rows live over SSE and resumes after Last-Event-ID", async () => {
    const before = item("bob");
    await deliver(before);
    await eventually(async () => (await fanout.ctx.mailbox.page("bob", 0, 10)).length === 1);

    const first = await openStream("/api/v1/mailbox/stream", bobToken);
    const replayed = await first.next();
    expect(replayed.data.activityId).toBe(before.activityId);
    expect(replayed.data.deliveredBy).toBe(before.deliveredBy);
    // A row written while the stream is open arrives without polling (the safety poll is a minute here).
    const live = item("bob");
    await deliver(live);
    const pushed = await first.next();
    expect(pushed.data.activityId).toBe(live.activityId);
    expect(pushed.id).toBe(String(pushed.data.cursor));
    expect(await first.waitForComment()).toBe(": keep-alive");
    expect(fanout.ctx.notifier.listenerCount("bob")).toBe(1);
    first.close();

    const missed = item("bob");
    await deliver(missed);
    await eventually(async () => (await fanout.ctx.mailbox.page("bob", 0, 10)).length === 3);
    const resumed = await openStream("/users/bob/inbox/stream", bobToken, { "last-event-id": pushed.id });
    const next = await resumed.next();
    expect(next.data.activityId).toBe(missed.activityId);
    resumed.close();

    // Closed streams unsubscribe from the notifier.
    await eventually(() => fanout.ctx.notifier.listenerCount("bob") === 0);
  });

  it("ends the stream when the mailbox cannot be read, so the client reconnects", async () => {
    await deliver(item("carol"));
    const carlaToken = await createAccount(sql, "carla");
    await deliver(item("carla"));
    await eventually(async () => (await fanout.ctx.mailbox.page("carla", 0, 10)).length === 1);
    const stream = await openStream("/api/v1/mailbox/stream", carlaToken);
    await stream.next();
    const page = fanout.ctx.mailbox.page;
    fanout.ctx.mailbox.page = async () => {
      throw new Error("database unavailable");
    };
    try {
      await deliver(item("carla"));
      await expect(stream.next()).rejects.toThrow("stream ended");
      await eventually(() => fanout.ctx.notifier.listenerCount("carla") === 0);
    } finally {
      fanout.ctx.mailbox.page = page;
    }
  });
});

describe("mailbox stream backpressure", () => {
  it("reads the next page only once a slow client took the last one", async () => {
    const rows = 300;
    const pageSize = 10;
    const slow = await startFanout(sql, {
      settings: testSettings({
        mailbox: { heartbeatMs: 60_000, safetyPollMs: 60_000, maxPageSize: pageSize, defaultPageSize: 10 },
      }),
    });
    try {
      const filler = "x".repeat(32 * 1024);
      await slow.ctx.mailbox.appendMany(
        Array.from({ length: rows }, (_, index) => ({
          username: "dora",
          activityId: `https://b.test/bulk/${index}`,
          activity: { id: `https://b.test/bulk/${index}`, type: "Create", content: filler },
          deliveredBy: "https://b.test/users/bob",
          receivedAt: new Date(),
        })),
      );
      let pagesRead = 0;
      const page = slow.ctx.mailbox.page;
      slow.ctx.mailbox.page = async (username, after, limit) => {
        if (username === "dora") pagesRead++;
        return page(username, after, limit);
      };
      const url = new URL(`${slow.base}/api/v1/mailbox/stream`);
      // A client that does not read: nothing consumes the response body yet.
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        httpRequest(url, { headers: { authorization: `Bearer ${doraToken}` } }, resolve)
          .on("error", reject)
          .end();
      });
      let seen = -1;
      await eventually(async () => {
        const before = pagesRead;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return pagesRead > 0 && pagesRead === before;
      });
      // The socket's buffers hold some pages; the rest waits for the client instead of piling up here.
      expect(pagesRead).toBeLessThan(rows / pageSize);

      const received: string[] = [];
      let buffer = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const id = buffer
            .slice(0, end)
            .split("\n")
            .find((line) => line.startsWith("data: "));
          if (id) received.push(String((JSON.parse(id.slice(6)) as { activityId: string }).activityId));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
        seen = received.length;
      });
      await eventually(() => seen === rows, 20_000);
      expect(received).toEqual(Array.from({ length: rows }, (_, index) => `https://b.test/bulk/${index}`));
      response.destroy();
    } finally {
      await slow.stop();
    }
  });
});

interface StreamEvent {
  id: string;
  data: { cursor: number; activityId: string; deliveredBy: string };
}

/** A minimal SSE client over fetch: yields events and comment lines as they arrive. */
async function openStream(path: string, token: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${fanout.base}${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const blocks: string[] = [];

  async function nextBlock(): Promise<string> {
    for (;;) {
      const shifted = blocks.shift();
      if (shifted !== undefined) return shifted;
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        blocks.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) throw new Error("stream ended");
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  }

  return {
    async next(): Promise<StreamEvent> {
      for (;;) {
        const block = await nextBlock();
        const lines = block.split("\n");
        const id = lines.find((line) => line.startsWith("id: "))?.slice(4);
        const data = lines.find((line) => line.startsWith("data: "))?.slice(6);
        if (id !== undefined && data !== undefined)
          return { id, data: JSON.parse(data) as StreamEvent["data"] };
      }
    },
    async waitForComment(): Promise<string> {
      for (;;) {
        const block = await nextBlock();
        if (block.startsWith(":")) return block;
      }
    },
    close() {
      controller.abort();
    },
  };
}

describe("mailbox stream limits", () => {
  /** A stream whose client reads nothing until the test says so. */
  async function openUnread(base: string, token: string) {
    return new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(
        new URL(`${base}/api/v1/mailbox/stream`),
        { headers: { authorization: `Bearer ${token}` } },
        resolve,
      )
        .on("error", reject)
        .end();
    });
  }

  function readAll(response: IncomingMessage): Promise<string> {
    return new Promise((resolve) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve(text));
      response.on("close", () => resolve(text));
    });
  }

  async function fill(running: RunningFanout, username: string, rows: number, bytesEach: number) {
    const filler = "x".repeat(bytesEach);
    await running.ctx.mailbox.appendMany(
      Array.from({ length: rows }, (_, index) => ({
        username,
        activityId: `https://b.test/${username}/${index}`,
        activity: { id: `https://b.test/${username}/${index}`, type: "Create", content: filler },
        deliveredBy: "https://b.test/users/bob",
        receivedAt: new Date(),
      })),
    );
  }

  it("holds at most the socket buffer plus one chunk per stream whose client does not read", async () => {
    const token = await createAccount(sql, "erin");
    const limited = await startFanout(sql, {
      settings: testSettings({
        mailbox: { heartbeatMs: 60_000, safetyPollMs: 60_000, maxPageSize: 200, defaultPageSize: 50 },
      }),
    });
    const responses: IncomingMessage[] = [];
    try {
      // 40 rows of 256 KiB: 10 MiB of replay for each of four streams that never read.
      await fill(limited, "erin", 40, 256 * 1024);
      for (let index = 0; index < 4; index++) responses.push(await openUnread(limited.base, token));
      const registry = streamRegistryOf(limited.ctx, 8);
      await eventually(() => registry.countFor("erin") === 4);
      // Let every stream write until its client stops taking: the buffers settle.
      let settled = "";
      await eventually(async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const now = registry
          .all()
          .map((stream) => stream.bufferedBytes())
          .join(",");
        const same = now === settled;
        settled = now;
        return same && now !== "";
      });
      const buffered = registry.all().map((stream) => stream.bufferedBytes());
      expect(buffered).toHaveLength(4);
      // The response's buffer (socket high-water mark, 16 KiB) plus one 16 KiB chunk, against 10 MiB of replay.
      for (const bytes of buffered) expect(bytes).toBeLessThanOrEqual(32 * 1024);
    } finally {
      for (const response of responses) response.destroy();
      await limited.stop();
    }
  });

  it("refuses one stream more than the per-user limit with 429, and admits it once one closed", async () => {
    const token = await createAccount(sql, "fred");
    const limited = await startFanout(sql, {
      settings: testSettings({
        streams: {
          maxPerUser: 2,
          stallTimeoutMs: 60_000,
          idleTimeoutMs: 60_000,
          batchBytes: 1024 * 1024,
          chunkBytes: 16 * 1024,
        },
      }),
    });
    const responses: IncomingMessage[] = [];
    try {
      responses.push(await openUnread(limited.base, token), await openUnread(limited.base, token));
      const third = await fetch(`${limited.base}/api/v1/mailbox/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(third.status).toBe(429);
      expect(third.headers.get("content-type")).toContain("application/problem+json");
      expect(third.headers.get("retry-after")).toBe("30");
      expect(((await third.json()) as { reason: string }).reason).toBe("tooManyStreams");
      responses.shift()?.destroy();
      const registry = streamRegistryOf(limited.ctx, 2);
      await eventually(() => registry.countFor("fred") === 1);
      responses.push(await openUnread(limited.base, token));
      expect(responses.at(-1)?.statusCode).toBe(200);
    } finally {
      for (const response of responses) response.destroy();
      await limited.stop();
    }
  });

  it("closes a stream whose client took nothing for the stall timeout, with reason behind", async () => {
    const token = await createAccount(sql, "gina");
    const limited = await startFanout(sql, {
      settings: testSettings({
        streams: {
          maxPerUser: 8,
          stallTimeoutMs: 400,
          idleTimeoutMs: 60_000,
          batchBytes: 1024 * 1024,
          chunkBytes: 16 * 1024,
        },
      }),
    });
    try {
      await fill(limited, "gina", 80, 256 * 1024);
      const response = await openUnread(limited.base, token);
      const registry = streamRegistryOf(limited.ctx, 8);
      await eventually(() => registry.countFor("gina") === 1);
      await eventually(() => registry.countFor("gina") === 0);
      const text = await readAll(response);
      expect(text.endsWith('event: closed\ndata: {"reason":"behind"}\n\n')).toBe(true);
      // The client resumes from the last id it got; nothing after it was marked as sent.
      expect(text).toContain("event: activity");
    } finally {
      await limited.stop();
    }
  });

  it("closes a stream that sent nothing for the idle timeout, with reason idle", async () => {
    const token = await createAccount(sql, "hugo");
    const limited = await startFanout(sql, {
      settings: testSettings({
        streams: {
          maxPerUser: 8,
          stallTimeoutMs: 60_000,
          idleTimeoutMs: 200,
          batchBytes: 1024 * 1024,
          chunkBytes: 16 * 1024,
        },
      }),
    });
    try {
      const response = await openUnread(limited.base, token);
      const text = await readAll(response);
      expect(text).toBe('retry: 3000\n\nevent: closed\ndata: {"reason":"idle"}\n\n');
      await eventually(() => streamRegistryOf(limited.ctx, 8).countFor("hugo") === 0);
    } finally {
      await limited.stop();
    }
  });
});
