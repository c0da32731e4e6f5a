import { describe, expect, it } from "vitest";
import type { MailboxItem } from "../api.js";
import {
  current,
  EARLY_DM_MESSAGE_TTL_MS,
  type EarlyDmMessage,
  MAX_EARLY_DM_MESSAGES,
  withEarly,
} from "./early-messages.js";

const G = "https://a.example/channels/q7Vt0QpWq2mK9oXb3l1f8A";
const now = new Date("2026-01-02T00:00:00.000Z");

function early(n: number, keptAt = now): EarlyDmMessage {
  const item: MailboxItem = {
    cursor: n,
    activityId: `https://b.example/users/bob/activities/${n}`,
    activity: { id: `https://b.example/users/bob/activities/${n}`, type: "Create" },
    receivedAt: keptAt.toISOString(),
  };
  return { groupUrl: G, item, keptAt: keptAt.toISOString() };
}

describe("DM messages kept until their group's Welcome", () => {
  it("are kept once per activity, in the order they came", () => {
    const list = withEarly(withEarly([], early(1), now), early(2), now);
    expect(withEarly(list, early(1), now).map((entry) => entry.item.cursor)).toEqual([2, 1]);
  });

  it("are bounded: the oldest go first", () => {
    let list: EarlyDmMessage[] = [];
    for (let n = 1; n <= MAX_EARLY_DM_MESSAGES + 5; n++) list = withEarly(list, early(n), now);
    expect(list).toHaveLength(MAX_EARLY_DM_MESSAGES);
    expect(list[0]?.item.cursor).toBe(6);
  });

  it("expire after EARLY_DM_MESSAGE_TTL_MS", () => {
    const old = early(1, new Date(now.getTime() - EARLY_DM_MESSAGE_TTL_MS));
    const recent = early(2, new Date(now.getTime() - EARLY_DM_MESSAGE_TTL_MS + 1));
    expect(current([old, recent], now)).toEqual([recent]);
    expect(withEarly([old], early(3), now).map((entry) => entry.item.cursor)).toEqual([3]);
  });
});
