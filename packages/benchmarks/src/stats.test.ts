import { describe, expect, it } from "vitest";
import { parseConsoleTables } from "./console-table.js";
import { renderTable, verdictOf } from "./report.js";
import { formatNumber, median, percentile, ratePerSecond, summarizeLatencies } from "./stats.js";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it("picks the nearest-rank value", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([5, 7, 9], 50)).toBe(7);
    expect(percentile([5, 7, 9], 0)).toBe(5);
  });

  it("is NaN for no samples", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(summarizeLatencies([]).count).toBe(0);
  });

  it("summarizes unsorted samples", () => {
    const summary = summarizeLatencies([30, 10, 20, 40]);
    expect(summary).toMatchObject({ count: 4, p50: 20, p99: 40, max: 40, mean: 25 });
    expect(median([3, 1, 2])).toBe(2);
  });

  it("computes rates and formats figures", () => {
    expect(ratePerSecond(500, 250)).toBe(2000);
    expect(ratePerSecond(5, 0)).toBe(0);
    expect(formatNumber(1234.5)).toBe("1235");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(100)).toBe("100");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(1.234)).toBe("1.23");
    expect(formatNumber(Number.NaN)).toBe("n/a");
  });
});

describe("report", () => {
  it("holds figures against absolute and relative targets", () => {
    const base = { scenario: "s", name: "n", unit: "/s" };
    expect(verdictOf({ ...base, value: 10 })).toBe("-");
    expect(verdictOf({ ...base, value: 10, target: { kind: "atMost", bound: 20 } })).toBe("met");
    expect(verdictOf({ ...base, value: 30, target: { kind: "atMost", bound: 20 } })).toBe("missed");
    const relative = { kind: "atLeast" as const, bound: 0.4, ofReference: true };
    expect(verdictOf({ ...base, value: 41, reference: { name: "r", value: 100 }, target: relative })).toBe(
      "met",
    );
    expect(verdictOf({ ...base, value: 39, reference: { name: "r", value: 100 }, target: relative })).toBe(
      "missed",
    );
    expect(verdictOf({ ...base, value: 39, target: relative })).toBe("missed");
  });

  it("aligns text left and numbers right", () => {
    const table = renderTable(
      ["name", "value"],
      [
        ["a", "1.5"],
        ["longer", "100"],
      ],
    );
    expect(table.split("\n")).toEqual(["name    value", "------  -----", "a         1.5", "longer    100"]);
  });
});

describe("parseConsoleTables", () => {
  it("reads console.table output back into rows", () => {
    const output = [
      "Application messages",
      "┌─────────┬───────────┬───────────┐",
      "│ (index) │ provider  │ encrypt/s │",
      "├─────────┼───────────┼───────────┤",
      "│ 0       │ 'caching' │ '1926'    │",
      "│ 1       │ 'default' │ '420'     │",
      "└─────────┴───────────┴───────────┘",
      "Commits",
      "┌─────────┬─────────┐",
      "│ (index) │ members │",
      "├─────────┼─────────┤",
      "│ 0       │ 10      │",
      "└─────────┴─────────┘",
    ].join("\n");
    expect(parseConsoleTables(output)).toEqual([
      [
        { "(index)": "0", provider: "caching", "encrypt/s": "1926" },
        { "(index)": "1", provider: "default", "encrypt/s": "420" },
      ],
      [{ "(index)": "0", members: "10" }],
    ]);
  });
});
