import { readConfig } from "@mimi/service-kit";
import { describe, expect, it } from "vitest";
import { formatRule, rateLimitRuleSchema } from "./settings.js";

describe("rate limit settings", () => {
  const spec = {
    logins: { env: "TEST_LIMIT", schema: rateLimitRuleSchema(), default: "10/300", description: "test" },
  };

  it("reads POINTS/SECONDS, and 0 as no limit", () => {
    expect(readConfig(spec, {}).logins).toEqual({ points: 10, durationSeconds: 300 });
    expect(readConfig(spec, { TEST_LIMIT: " 3/1 " }).logins).toEqual({ points: 3, durationSeconds: 1 });
    expect(readConfig(spec, { TEST_LIMIT: "0" }).logins.points).toBe(0);
  });

  it.each(["10", "10/0", "0/60", "-1/60", "ten/60", "1.5/60", "10/60/2"])(
    "refuses %j naming the variable",
    (value) => {
      expect(() => readConfig(spec, { TEST_LIMIT: value })).toThrow(/TEST_LIMIT: must be POINTS\/SECONDS/);
    },
  );

  it("writes a rule back as its setting", () => {
    expect(formatRule({ points: 10, durationSeconds: 300 })).toBe("10/300");
    expect(formatRule({ points: 0, durationSeconds: 1 })).toBe("0");
  });
});
