import { describe, expect, it } from "vitest";
import { admitToMailboxes } from "./mailbox-quota.js";

describe("admitToMailboxes", () => {
  const quota = { maxItems: 3, maxBytes: 1_000 };

  it("admits items until a user's item count would pass the quota, per user", () => {
    const usage = new Map([["ann", { items: 1, bytes: 10 }]]);
    const verdicts = admitToMailboxes(
      [
        { username: "ann", bytes: 10 },
        { username: "bob", bytes: 10 },
        { username: "ann", bytes: 10 },
        { username: "ann", bytes: 10 },
      ],
      usage,
      quota,
    );
    expect(verdicts.map((verdict) => verdict.admitted)).toEqual([true, true, true, false]);
    expect(verdicts[3]).toEqual({ admitted: false, reason: "mailbox full: 3 items" });
  });

  it("refuses an item that does not fit in the bytes left, and still admits a smaller one", () => {
    const verdicts = admitToMailboxes(
      [
        { username: "cid", bytes: 700 },
        { username: "cid", bytes: 400 },
        { username: "cid", bytes: 300 },
      ],
      new Map(),
      quota,
    );
    expect(verdicts).toEqual([
      { admitted: true },
      { admitted: false, reason: "mailbox full: 1000 bytes" },
      { admitted: true },
    ]);
  });
});
