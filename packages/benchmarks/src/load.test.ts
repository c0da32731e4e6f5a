import { describe, expect, it } from "vitest";
import { runPacedSequence } from "./load.js";

describe("runPacedSequence (open loop, in order, bounded window)", () => {
  it("starts in order and never lets an operation overtake one `window` places before it", async () => {
    const started: number[] = [];
    const finished = new Set<number>();
    let pending = 0;
    let mostPending = 0;
    const result = await runPacedSequence(
      10_000,
      40,
      60_000,
      async (index) => {
        // Operation i may only start once operation i - 3 has finished.
        if (index >= 3) expect(finished.has(index - 3)).toBe(true);
        started.push(index);
        pending += 1;
        mostPending = Math.max(mostPending, pending);
        // Uneven durations, so later operations finish before earlier ones.
        await new Promise((resolve) => setTimeout(resolve, (index % 4) * 3));
        pending -= 1;
        finished.add(index);
      },
      3,
    );
    expect(started).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(mostPending).toBeLessThanOrEqual(3);
    expect(result).toMatchObject({ sent: 40, errors: 0 });
    expect(result.operationMs.count).toBe(40);
  });

  it("counts failed operations and is strictly serial with a window of 1", async () => {
    let pending = 0;
    let mostPending = 0;
    const result = await runPacedSequence(10_000, 10, 60_000, async (index) => {
      pending += 1;
      mostPending = Math.max(mostPending, pending);
      await new Promise((resolve) => setTimeout(resolve, 1));
      pending -= 1;
      if (index % 5 === 0) throw new Error("refused");
    });
    expect(mostPending).toBe(1);
    expect(result).toMatchObject({ sent: 10, errors: 2 });
  });
});
