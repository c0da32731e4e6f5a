import { z } from "zod";
import type { RateLimitRule } from "./types.js";

const RULE = /^(\d{1,9})\/(\d{1,9})$/;

/**
 * A rule as a setting: `POINTS/SECONDS` (say `10/300`: ten per five minutes), or `0` to turn the
 * limit off.
 */
export function rateLimitRuleSchema(): z.ZodType<RateLimitRule> {
  return z.string().transform((value, context): RateLimitRule => {
    const text = value.trim();
    if (text === "0") return { points: 0, durationSeconds: 1 };
    const match = RULE.exec(text);
    const points = Number(match?.[1]);
    const durationSeconds = Number(match?.[2]);
    if (!match || points < 1 || durationSeconds < 1) {
      context.addIssue({
        code: "custom",
        message: "must be POINTS/SECONDS (such as 10/300), or 0 for no limit",
      });
      return z.NEVER;
    }
    return { points, durationSeconds };
  });
}

/** Writes a rule back as its setting's text, for defaults and documentation. */
export function formatRule(rule: RateLimitRule): string {
  return rule.points === 0 ? "0" : `${rule.points}/${rule.durationSeconds}`;
}
