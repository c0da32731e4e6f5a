import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MimiClient } from "@mimi/client";
import { startTracing, type Tracing } from "@mimi/service-kit";
import type { RunningProvider } from "@mimi/standalone";
import type { TestClients } from "@mimi/testkit/e2e";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../src/processes.js";

/**
 * One trace from a client's outbox POST on a.test through inbox-ingest, the bus, channel-sequencer and
 * delivery-fanout to b.test's inbox: two standalone providers in this process, spans in memory.
 */
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
const providers: RunningProvider[] = [];
let clients: TestClients | undefined;
let dir: string;

beforeAll(async () => {
  // Tracing first; the modules it instruments are loaded afterwards.
  tracing = await startTracing({
    serviceName: "mimi-test",
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const { startProvider } = await import("@mimi/standalone");
  const { connectToLocal, providerEnv } = await import("@mimi/testkit");
  dir = mkdtempSync(join(tmpdir(), "mimi-tracing-"));
  const ports = { "a.test": await freePort(), "b.test": await freePort() };
  const connectTo = connectToLocal(Object.entries(ports));
  for (const [domain, port] of Object.entries(ports)) {
    const env = providerEnv({ domain, port, dataDir: join(dir, domain), connectTo });
    providers.push(await startProvider({ host: "127.0.0.1", env: { ...env, LOG_LEVEL: "silent" } }));
  }
}, 120_000);

afterAll(async () => {
  await clients?.closeAll();
  for (const provider of providers) await provider.close();
  await tracing?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signUp(user: string, domain: string): Promise<MimiClient> {
  // Loaded here, after tracing started, like the providers.
  const { TestClients } = await import("@mimi/testkit/e2e");
  const { connectToLocal } = await import("@mimi/testkit");
  clients ??= new TestClients(() => ({
    server: (name) => `http://127.0.0.1:${providers.find((p) => p.config.domain === name)?.port}`,
    home: (name) => join(dir, "homes", name),
    connectTo: connectToLocal(providers.map((p) => [p.config.domain, p.port])),
  }));
  return clients.signUp(user, domain);
}

const pathOf = (span: ReadableSpan) =>
  String(span.attributes["url.path"] ?? span.attributes["http.target"] ?? "");
const methodOf = (span: ReadableSpan) =>
  String(span.attributes["http.request.method"] ?? span.attributes["http.method"] ?? "");
const hostOf = (span: ReadableSpan) =>
  String(
    span.attributes["server.address"] ??
      span.attributes["http.host"] ??
      span.attributes["net.host.name"] ??
      "",
  );
const SERVER = 1;

it("a channel message's trace runs from the outbox POST through the bus to the other provider's inbox", async () => {
  const [a, b] = providers;
  if (!a || !b) throw new Error("providers did not start");
  const alice = await signUp("alice", "a.test");
  const bob = await signUp("bob", "b.test");
  const channel = await alice.createChannel("traced");
  expect((await alice.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
  await alice.addMember(channel.url, "bob@b.test");
  expect((await alice.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);

  exporter.reset();
  await alice.send(channel.url, "traced hello");
  const deadline = Date.now() + 30_000;
  for (;;) {
    await bob.sync();
    // Until the Welcome has arrived bob has no such channel.
    const received = await bob.messages(channel.url).catch(() => ({ messages: [] }));
    if (received.messages.some((m) => m.content === "traced hello")) break;
    if (Date.now() > deadline) throw new Error("bob never got the message");
    await new Promise((done) => setTimeout(done, 200));
  }

  const spans = exporter.getFinishedSpans();
  const outbox = spans.find(
    (span) => span.kind === SERVER && methodOf(span) === "POST" && pathOf(span) === "/users/alice/outbox",
  );
  expect(outbox, "the outbox POST has a server span").toBeDefined();
  const traceId = outbox?.spanContext().traceId;
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
  const names = inTrace.map((span) => span.name);
  expect(names).toContain("channel.inbox process");
  expect(names).toContain("delivery.requests process");
  // The signed delivery arrives at b.test's inbox (shared or personal) in the same trace.
  const delivered = inTrace.find(
    (span) =>
      span.kind === SERVER &&
      methodOf(span) === "POST" &&
      /^\/(inbox|users\/bob\/inbox)$/.test(pathOf(span)) &&
      hostOf(span).startsWith("b.test"),
  );
  expect(delivered, `b.test's inbox POST is in trace ${traceId}: ${names.join(", ")}`).toBeDefined();
}, 120_000);
