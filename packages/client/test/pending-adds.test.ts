import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AccountStore } from "../src/account-store.js";
import { MimiApiError } from "../src/api.js";
import {
  AddWaitsForConsent,
  loadPendingAdds,
  MAX_PENDING_ADDS,
  recordPendingAdd,
  retryPendingAdds,
} from "../src/pending-adds.js";

const dir = mkdtempSync(join(tmpdir(), "mimi-pending-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const now = new Date("2026-01-01T00:00:00Z");
const consentRefusal = () => new MimiApiError(403, "Forbidden", "asked", { reason: "consentRequired" });

describe("adds waiting for consent", () => {
  it("keeps each add once, within the bound", async () => {
    const store = new AccountStore(join(dir, "a"));
    expect(await recordPendingAdd(store, { channel: "c1", acct: "acct:kim@x.test" }, now)).toBe(true);
    expect(await recordPendingAdd(store, { channel: "c1", acct: "acct:kim@x.test" }, now)).toBe(true);
    expect(await loadPendingAdds(store)).toEqual([
      { channel: "c1", acct: "acct:kim@x.test", since: now.toISOString() },
    ]);
    for (let i = 1; i < MAX_PENDING_ADDS; i += 1)
      await recordPendingAdd(store, { channel: `c${i + 1}`, acct: "acct:kim@x.test" }, now);
    expect(await recordPendingAdd(store, { channel: "over", acct: "acct:kim@x.test" }, now)).toBe(false);
  });

  it("tries them again: keeps those still waiting, drops and reports the rest", async () => {
    const store = new AccountStore(join(dir, "b"));
    for (const acct of ["acct:a@x.test", "acct:b@x.test", "acct:c@x.test", "acct:d@x.test"])
      await recordPendingAdd(store, { channel: "c", acct }, now);
    const warnings: string[] = [];
    await retryPendingAdds(
      store,
      async (_channel, acct) => {
        if (acct === "acct:a@x.test") throw consentRefusal();
        if (acct === "acct:b@x.test") throw new AddWaitsForConsent("still waiting");
        if (acct === "acct:c@x.test") throw new Error("the channel is gone");
        return { channel: { url: "c" }, activityId: "x" } as never;
      },
      warnings,
    );
    expect((await loadPendingAdds(store)).map((add) => add.acct)).toEqual(["acct:a@x.test", "acct:b@x.test"]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^the add of c@x\.test, which waited for their consent, failed: the channel is gone/,
      ),
      "d@x.test accepted: their add was submitted (its answer comes with the next join)",
    ]);
  });
});
