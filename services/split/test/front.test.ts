import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningFront, startFront } from "../src/front.js";
import { SERVICES, type ServiceName } from "../src/routes.js";

/** One fake upstream per service answering with its own name; delivery-fanout also streams events. */
const upstreams = new Map<ServiceName, { server: Server; port: number }>();
let front: RunningFront;
let dir: string;
let releaseStream: () => void = () => {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-front-"));
  for (const service of SERVICES) {
    const server = createServer((req, res) => {
      if (req.url === "/api/v1/mailbox/stream?then=die") {
        // The service dies mid-stream: its connection breaks after the headers and one event.
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n", () => setTimeout(() => req.socket.destroy(), 50));
        return;
      }
      if (req.url === "/api/v1/mailbox/stream") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n");
        releaseStream = () => res.end("data: last\n\n");
        return;
      }
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "x-host-seen": req.headers.host ?? "" });
        res.end(JSON.stringify({ service, method: req.method, url: req.url, body }));
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    upstreams.set(service, { server, port: (server.address() as AddressInfo).port });
  }
  front = await startFront({
    upstreams: Object.fromEntries(SERVICES.map((s) => [s, [upstreams.get(s)?.port ?? 0]])) as Record<
      ServiceName,
      number[]
    >,
    postLog: join(dir, "posts.log"),
  });
});

afterAll(async () => {
  await front.close();
  for (const { server } of upstreams.values()) {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
  rmSync(dir, { recursive: true, force: true });
});

const at = (path: string) => `http://127.0.0.1:${front.port}${path}`;

describe("front", () => {
  it("sends a request to the service the routing table names, with method, path, query and body", async () => {
    const res = await fetch(at("/users/alice/outbox?x=1"), { method: "POST", body: "hello" });
    expect(await res.json()).toEqual({
      service: "inbox-ingest",
      method: "POST",
      url: "/users/alice/outbox?x=1",
      body: "hello",
    });
    const mailbox = await fetch(at("/users/alice/inbox"));
    expect(((await mailbox.json()) as { service: string }).service).toBe("delivery-fanout");
  });

  it("keeps the Host header, which HTTP signatures cover", async () => {
    const res = await fetch(at("/actor"));
    expect(res.headers.get("x-host-seen")).toBe(`127.0.0.1:${front.port}`);
  });

  it("answers 404 for paths that are not public", async () => {
    const res = await fetch(at("/metrics"));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("logs each POST path before forwarding it", async () => {
    await (await fetch(at("/inbox"), { method: "POST", body: "{}" })).text();
    await (await fetch(at("/inbox?y=2"), { method: "POST", body: "{}" })).text();
    const lines = readFileSync(join(dir, "posts.log"), "utf8").split("\n");
    expect(lines.filter((line) => line === "POST /inbox")).toHaveLength(2);
  });

  it("streams Server-Sent Events without waiting for the response to end", async () => {
    const res = await fetch(at("/api/v1/mailbox/stream"));
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n");
    releaseStream();
    let rest = "";
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      rest += new TextDecoder().decode(next.value);
    }
    expect(rest).toBe("data: last\n\n");
  });

  it("ends the client's stream when the upstream connection breaks after the headers", async () => {
    const res = await fetch(at("/api/v1/mailbox/stream?then=die"));
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
    // Without the fix this read never settles and the test times out.
    const end = await reader.read().then(
      (next) => (next.done ? "ended" : "more data"),
      () => "broken",
    );
    expect(end).toBe("broken");
  }, 10_000);

  it("answers 502 when no replica of the service is reachable", async () => {
    const port = upstreams.get("channel-sequencer")?.port ?? 0;
    front.removeUpstream("channel-sequencer", port);
    try {
      expect((await fetch(at("/api/v1/channels/x"))).status).toBe(503);
      front.addUpstream("channel-sequencer", 1);
      expect((await fetch(at("/api/v1/channels/x"))).status).toBe(502);
    } finally {
      front.removeUpstream("channel-sequencer", 1);
      front.addUpstream("channel-sequencer", port);
    }
  });
});
