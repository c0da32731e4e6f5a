import { describe, expect, it } from "vitest";
import {
  BusHeaders,
  deadTopicName,
  handledRecordOf,
  planOutcome,
  publisherHeaders,
  readiness,
  reasonFromError,
  retryTopicName,
  sourceTopicsFor,
  topicsToProvision,
  validateRetryPolicy,
} from "./routing";

const policy = { delaysMs: [1_000, 10_000, 60_000] };
const record = {
  logicalTopic: "delivery.jobs",
  key: "https://b.example",
  value: new Uint8Array([1, 2]),
  headers: { traceparent: "00-abc-def-01" },
  attempt: 1,
};

describe("topic names", () => {
  it("derives retry and dead topics from the topic", () => {
    expect(retryTopicName("delivery.jobs", 2)).toBe("delivery.jobs.retry.2");
    expect(deadTopicName("delivery.jobs")).toBe("delivery.jobs.dead");
  });

  it("reads one retry topic per delay and provisions the dead topic too", () => {
    expect(sourceTopicsFor(["a"], { delaysMs: [5, 10] })).toEqual([
      { name: "a", logicalTopic: "a", retryLevel: 0 },
      { name: "a.retry.1", logicalTopic: "a", retryLevel: 1 },
      { name: "a.retry.2", logicalTopic: "a", retryLevel: 2 },
    ]);
    expect(topicsToProvision(["a", "b"], { delaysMs: [5] })).toEqual([
      "a",
      "a.retry.1",
      "b",
      "b.retry.1",
      "a.dead",
      "b.dead",
    ]);
  });
});

describe("planOutcome", () => {
  it("commits ok and drop", () => {
    expect(planOutcome(record, { kind: "ok" }, "g", policy, 0)).toEqual({ kind: "commit" });
    expect(planOutcome(record, { kind: "drop", reason: "dup" }, "g", policy, 0)).toEqual({ kind: "commit" });
  });

  it("schedules the n-th retry on retry topic n with the n-th delay", () => {
    const plan = planOutcome(
      { ...record, attempt: 2 },
      { kind: "retry", reason: "503" },
      "fanout",
      policy,
      5_000,
    );
    expect(plan).toEqual({
      kind: "forward",
      destination: "retry",
      topic: "delivery.jobs.retry.2",
      message: {
        key: "https://b.example",
        value: record.value,
        headers: {
          traceparent: "00-abc-def-01",
          [BusHeaders.originalTopic]: "delivery.jobs",
          [BusHeaders.group]: "fanout",
          [BusHeaders.attempt]: "3",
          [BusHeaders.notBefore]: "15000",
          [BusHeaders.retryReason]: "503",
        },
      },
    });
  });

  it("dead-letters once every delay was used", () => {
    const plan = planOutcome({ ...record, attempt: 4 }, { kind: "retry", reason: "503" }, "g", policy, 0);
    expect(plan.kind === "forward" && plan.destination).toBe("dead");
    expect(plan.kind === "forward" && plan.topic).toBe("delivery.jobs.dead");
    expect(plan.kind === "forward" && plan.message.headers).toMatchObject({
      [BusHeaders.deadKind]: "retries-exhausted",
      [BusHeaders.deadReason]: "503",
      [BusHeaders.attempts]: "4",
      traceparent: "00-abc-def-01",
    });
  });

  it("dead-letters a retry at once under an empty policy", () => {
    const plan = planOutcome(record, { kind: "retry", reason: "x" }, "g", { delaysMs: [] }, 0);
    expect(plan.kind === "forward" && plan.destination).toBe("dead");
  });

  it("dead-letters dlq outcomes without retrying, replacing stale bus headers", () => {
    const retried = {
      ...record,
      attempt: 2,
      headers: { ...record.headers, [BusHeaders.notBefore]: "99", [BusHeaders.retryReason]: "old" },
    };
    const plan = planOutcome(retried, { kind: "dlq", reason: "bad signature" }, "g", policy, 0);
    expect(plan.kind === "forward" && plan.message.headers).toEqual({
      traceparent: "00-abc-def-01",
      [BusHeaders.originalTopic]: "delivery.jobs",
      [BusHeaders.group]: "g",
      [BusHeaders.deadKind]: "dlq",
      [BusHeaders.deadReason]: "bad signature",
      [BusHeaders.attempts]: "2",
    });
  });
});

describe("readiness", () => {
  const main = { name: "t", logicalTopic: "t", retryLevel: 0 };
  const retry = { name: "t.retry.1", logicalTopic: "t", retryLevel: 1 };
  const retryHeaders = { [BusHeaders.group]: "g", [BusHeaders.notBefore]: "1000", [BusHeaders.attempt]: "2" };

  it("handles records of the topic itself at attempt 1", () => {
    expect(readiness(main, retryHeaders, "other", 0)).toEqual({ kind: "handle", attempt: 1 });
  });

  it("skips retry records of other groups", () => {
    expect(readiness(retry, retryHeaders, "other", 5_000)).toEqual({ kind: "skip" });
  });

  it("holds retry records until their delay elapsed", () => {
    expect(readiness(retry, retryHeaders, "g", 999)).toEqual({ kind: "wait", dueAtMs: 1000 });
    expect(readiness(retry, retryHeaders, "g", 1000)).toEqual({ kind: "handle", attempt: 2 });
  });

  it("falls back to the retry level when the attempt header is unusable", () => {
    const headers = { [BusHeaders.group]: "g", [BusHeaders.attempt]: "nope" };
    expect(readiness({ ...retry, retryLevel: 3 }, headers, "g", 0)).toEqual({ kind: "handle", attempt: 4 });
  });
});

describe("helpers", () => {
  it("keeps only publisher headers", () => {
    expect(publisherHeaders({ a: "1", [BusHeaders.group]: "g" })).toEqual({ a: "1" });
  });

  it("validates retry delays", () => {
    expect(validateRetryPolicy({ delaysMs: [0, 10] })).toEqual({ ok: true });
    expect(validateRetryPolicy({ delaysMs: [Number.NaN] }).ok).toBe(false);
  });

  it("describes thrown values", () => {
    expect(reasonFromError(new Error("boom"))).toBe("handler threw: boom");
    expect(reasonFromError("plain")).toBe("handler threw: plain");
  });
});

describe("handledRecordOf", () => {
  it("plans from the logical topic, so a record read from a retry topic moves one level on", () => {
    const record = {
      topic: "t",
      sourceTopic: retryTopicName("t", 1),
      key: "k",
      value: new Uint8Array([1]),
      headers: { traceparent: "x" },
      partition: 0,
      offset: "7",
      attempt: 2,
    };
    expect(handledRecordOf(record)).toEqual({
      logicalTopic: "t",
      key: "k",
      value: new Uint8Array([1]),
      headers: { traceparent: "x" },
      attempt: 2,
    });
    const plan = planOutcome(
      handledRecordOf(record),
      { kind: "retry", reason: "r" },
      "g",
      { delaysMs: [10, 20] },
      0,
    );
    expect(plan).toMatchObject({ kind: "forward", destination: "retry", topic: retryTopicName("t", 2) });
  });
});
