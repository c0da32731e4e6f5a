import { describe, expect, it } from "vitest";
import { MimiApiError, ProviderApi } from "../src/api.js";

function api(answers: Array<() => Response | Promise<Response>>) {
  const calls: string[] = [];
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method ?? "GET"} ${String(input)}`);
    const next = answers.shift();
    if (!next) throw new Error("no more answers");
    return next();
  }) as typeof fetch;
  return {
    calls,
    api: new ProviderApi({
      server: "http://a.test",
      token: "t",
      fetch: fetcher,
      submitRetryDelaysMs: [1, 1, 1],
    }),
  };
}

const problem =
  (status: number, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify({ title: "x", status, detail: "for now" }), {
      status,
      headers: { "content-type": "application/problem+json", ...headers },
    });

describe("submitting an activity", () => {
  it("posts the same activity again while the home server cannot take it for now", async () => {
    const { calls, api: client } = api([
      problem(503, { "retry-after": "0" }),
      () => Promise.reject(new TypeError("fetch failed")),
      problem(502),
      () => new Response(null, { status: 202 }),
    ]);
    await client.postActivity("alice", { id: "http://a.test/users/alice/activities/1" });
    expect(calls).toEqual(Array(4).fill("POST http://a.test/users/alice/outbox"));
  });

  it("reads again too, but never repeats other calls", async () => {
    const reading = api([
      problem(503),
      () => new Response(JSON.stringify({ items: [], next: 0 }), { status: 200 }),
    ]);
    expect(await reading.api.mailbox(0)).toEqual({ items: [], next: 0 });
    expect(reading.calls).toHaveLength(2);
    const creating = api([problem(503)]);
    await expect(creating.api.createClient("laptop")).rejects.toMatchObject({ status: 503 });
    expect(creating.calls).toHaveLength(1);
  });

  it("gives up after its retries, and never retries a refusal", async () => {
    const outage = api([problem(503), problem(503), problem(503), problem(503)]);
    await expect(outage.api.postActivity("alice", {})).rejects.toMatchObject({ status: 503 });
    expect(outage.calls).toHaveLength(4);
    const refused = api([problem(400)]);
    await expect(refused.api.postActivity("alice", {})).rejects.toBeInstanceOf(MimiApiError);
    expect(refused.calls).toHaveLength(1);
  });
});
