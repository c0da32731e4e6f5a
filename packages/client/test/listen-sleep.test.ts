import { describe, expect, it } from "vitest";
import { sleep } from "../src/sync/listen.js";

describe("the reconnect wait", () => {
  it("leaves no abort listener behind, however many times it waits", async () => {
    const controller = new AbortController();
    let listeners = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners += 1;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners -= 1;
      remove(...args);
    }) as typeof signal.removeEventListener;
    for (let i = 0; i < 20; i += 1) await sleep(1, signal);
    expect(listeners).toBe(0);
    const aborted = sleep(60_000, signal);
    controller.abort();
    await aborted;
  });
});
