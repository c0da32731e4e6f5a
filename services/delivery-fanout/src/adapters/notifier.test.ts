import { describe, expect, it } from "vitest";
import { createInProcessNotifier } from "./notifier.js";

describe("in-process mailbox notifier", () => {
  it("treats every username alike, `error` included, with or without listeners", async () => {
    const notifier = createInProcessNotifier();
    await expect(notifier.notify("error", 1)).resolves.toBeUndefined();
    const heard: number[] = [];
    const unsubscribe = notifier.subscribe("error", (cursor) => heard.push(cursor));
    await notifier.notify("error", 2);
    expect(heard).toEqual([2]);
    unsubscribe();
    unsubscribe();
    expect(notifier.listenerCount("error")).toBe(0);
    await notifier.notify("__proto__", 3);
  });

  it("calls every listener even when one throws", async () => {
    const notifier = createInProcessNotifier();
    const heard: string[] = [];
    notifier.subscribe("ann", () => {
      throw new Error("stream gone");
    });
    notifier.subscribe("ann", (cursor) => heard.push(`second ${cursor}`));
    await notifier.notify("ann", 5);
    expect(heard).toEqual(["second 5"]);
    expect(notifier.listenerCount("ann")).toBe(2);
  });
});
