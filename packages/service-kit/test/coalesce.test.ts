import { describe, expect, it } from "vitest";
import { coalesce } from "../src/coalesce.js";

describe("coalesce", () => {
  it("runs the calls of one turn as one batch and hands each caller its own result", async () => {
    const batches: number[][] = [];
    const double = coalesce<number, number>(async (inputs) => {
      batches.push([...inputs]);
      return inputs.map((n) => n * 2);
    });
    expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
    expect(await double(4)).toBe(8);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("collects the calls made while a batch runs into the next one, within maxBatch", async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const echo = coalesce<number, number>(
      async (inputs) => {
        batches.push([...inputs]);
        if (batches.length === 1) await held;
        return inputs;
      },
      { maxBatch: 2 },
    );
    const first = echo(0);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [echo(1), echo(2), echo(3)];
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3]);
    expect(batches).toEqual([[0], [1, 2], [3]]);
  });

  it("rejects every call of a failed batch and still runs the next", async () => {
    let failNext = true;
    const flaky = coalesce<string, string>(async (inputs) => {
      if (failNext) {
        failNext = false;
        throw new Error("database unavailable");
      }
      return inputs;
    });
    const failed = [flaky("a"), flaky("b")];
    for (const call of failed) await expect(call).rejects.toThrow("database unavailable");
    expect(await flaky("c")).toBe("c");
  });

  it("rejects the batch when results do not match the calls one to one", async () => {
    const broken = coalesce<string, string>(async () => []);
    await expect(broken("a")).rejects.toThrow(/1 calls produced 0 results/);
  });
});
