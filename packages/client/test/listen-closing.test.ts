import { beforeAll, describe, expect, it } from "vitest";
import { MimiApiError } from "../src/api.js";
import type { ClientEvent, ListenOptions } from "../src/client-types.js";
import { closeReason, retryAfterMs } from "../src/sync/listen.js";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

/** How the client follows a mailbox stream the server bounds: closes it, refuses one too many. */
let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test"]);
});

const MALLORY = "http://a.test/users/mallory";
let delivered = 0;
/** Puts an activity the client reports (as `skipped`) into `actor`'s mailbox; returns its id. */
function deliverOne(actor: string): string {
  delivered += 1;
  const id = `${MALLORY}/activities/${delivered}`;
  network.deliver(actor, { id, type: "Like", actor: MALLORY }, MALLORY);
  return id;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const streamOpens = () =>
  network.requests.filter((request) => request.endsWith("/api/v1/mailbox/stream")).length;

/** Listens as `handle` in the background, collecting the ids of what arrived and the warnings. */
async function listening(handle: string, options: ListenOptions = {}) {
  const account = await newAccount(network, handle);
  const abort = new AbortController();
  const ids: string[] = [];
  const warnings: string[] = [];
  const done = account.client.listen(
    (event: ClientEvent) => {
      if (event.type === "skipped") ids.push(event.activityId);
    },
    { signal: abort.signal, onWarning: (warning) => warnings.push(warning), ...options },
  );
  const open = () => network.user(handle)?.streams.size === 1;
  return { account, abort, ids, warnings, done, open };
}

describe("listening to a stream the server bounds", () => {
  it("reopens from the cursor without a warning when the server closes the stream", async () => {
    const bob = await listening("bob@a.test", { reconnectMs: 1_000 });
    await waitFor(bob.open, "the stream");
    const opensBefore = streamOpens();
    const first = deliverOne(bob.account.actor);
    await waitFor(() => bob.ids.includes(first), "the first activity");

    // behind: after the reconnect delay; what arrived meanwhile is replayed from the cursor.
    let closedAt = Date.now();
    expect(network.closeStreams("bob@a.test", "behind")).toBe(1);
    const second = deliverOne(bob.account.actor);
    await waitFor(() => bob.ids.includes(second), "the activity written while closed");
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);

    // idle: at once.
    await waitFor(bob.open, "the reopened stream");
    closedAt = Date.now();
    expect(network.closeStreams("bob@a.test", "idle")).toBe(1);
    await waitFor(bob.open, "the stream reopened after idle");
    expect(Date.now() - closedAt).toBeLessThan(900);

    // unavailable, and a reason this client does not know: after the delay, quietly too.
    for (const reason of ["unavailable", "something new"]) {
      expect(network.closeStreams("bob@a.test", reason)).toBe(1);
      const next = deliverOne(bob.account.actor);
      await waitFor(() => bob.ids.includes(next), `the activity after ${reason}`);
      await waitFor(bob.open, "the reopened stream");
    }

    bob.abort.abort();
    await bob.done;
    expect(bob.warnings).toEqual([]);
    expect(new Set(bob.ids).size).toBe(bob.ids.length);
    expect(bob.ids).toHaveLength(4);
    expect(streamOpens() - opensBefore).toBe(4);
  });

  it("waits the server's Retry-After when refused for too many streams, with one warning", async () => {
    network.refuseStreams(2, 1);
    const started = Date.now();
    const carol = await listening("carol@a.test", { reconnectMs: 50 });
    await waitFor(carol.open, "the stream after two refusals");
    // Two refusals of 1 s each, not a retry every 50 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    const id = deliverOne(carol.account.actor);
    await waitFor(() => carol.ids.includes(id), "the activity");
    carol.abort.abort();
    await carol.done;
    expect(carol.warnings).toEqual(["too many open streams for this account; retrying in 1 s"]);
  });

  it("bounds the wait whatever Retry-After asks", async () => {
    network.refuseStreams(1, 3_600);
    const started = Date.now();
    const dave = await listening("dave@a.test", { reconnectMs: 50, maxRetryAfterMs: 200 });
    await waitFor(dave.open, "the stream after a refusal", 3_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    dave.abort.abort();
    await dave.done;
    expect(dave.warnings).toHaveLength(1);
  });

  it("ends with the home server's 401 once the session has ended", async () => {
    const erin = await newAccount(network, "erin@a.test");
    network.user("erin@a.test")?.tokens.clear();
    const warnings: string[] = [];
    const error = await erin.client
      .listen(() => undefined, { reconnectMs: 50, onWarning: (warning) => warnings.push(warning) })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MimiApiError);
    expect((error as MimiApiError).status).toBe(401);
    expect(warnings).toEqual([]);
  });
});

describe("the stream's last event and Retry-After", () => {
  it("reads the close reason, whatever the data", () => {
    expect(closeReason('{"reason":"behind"}')).toBe("behind");
    expect(closeReason('{"reason":7}')).toBe("");
    expect(closeReason("not json")).toBe("");
  });

  it("reads Retry-After in seconds or as a date", () => {
    expect(retryAfterMs("30")).toBe(30_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs("-1")).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
  });
});
