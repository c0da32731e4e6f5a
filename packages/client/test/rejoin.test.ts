import { describe, expect, it } from "vitest";
import type { ChannelRecord } from "../src/account-store.js";
import type { ChannelLogPage } from "../src/api.js";
import { logHoleReason, lostStateReason } from "../src/sync/rejoin.js";

/** When a channel cannot be recovered by replaying its log, and this device must join it again. */

function record(partial: Partial<ChannelRecord>): ChannelRecord {
  return {
    id: "one",
    url: "https://a.example/channels/one",
    name: "one",
    status: "active",
    epoch: 4,
    createdAt: new Date(0).toISOString(),
    actors: {},
    logSequence: 7,
    seen: [],
    state: "c3RhdGU",
    ...partial,
  };
}

function page(sequences: number[]): ChannelLogPage {
  return { items: sequences.map((sequence) => ({ sequence, epoch: 4, activity: {} })), next: null };
}

describe("a lost state", () => {
  const reasonFor = (channel: ChannelRecord) => lostStateReason(channel, () => channel.state === "c3RhdGU");
  it("is a missing state or one that does not decode, of an active channel only", () => {
    expect(reasonFor(record({}))).toBeUndefined();
    expect(reasonFor(record({ state: undefined }))).toMatch(/is lost/);
    expect(reasonFor(record({ state: "Z2FyYmFnZQ" }))).toMatch(/does not decode/);
    for (const status of ["pending", "left", "failed"] as const)
      expect(reasonFor(record({ status, state: undefined }))).toBeUndefined();
  });
});

describe("a hole in the log", () => {
  it("is a first entry after the last applied one that is not the next one", () => {
    expect(logHoleReason(7, page([8, 9]))).toBeUndefined();
    expect(logHoleReason(7, page([]))).toBeUndefined();
    // Entries up to the last applied one, as a log that ignores `after` would send, do not count.
    expect(logHoleReason(7, page([6, 7, 8]))).toBeUndefined();
    expect(logHoleReason(7, page([12, 13]))).toBe("the channel's log no longer holds entries 8 to 11");
    expect(logHoleReason(0, page([2]))).toBe("the channel's log no longer holds entries 1 to 1");
  });
});
