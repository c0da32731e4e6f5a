import { problems } from "@mimi/service-kit";

const CURSOR = /^\d{1,15}$/;

/** A cursor from `?after=` or `Last-Event-ID`: a non-negative integer; absent means from the start. */
export function parseCursor(value: unknown, name: string): number {
  if (value === undefined || value === "") return 0;
  if (typeof value !== "string" || !CURSOR.test(value))
    throw problems.badRequest(`${name} must be a non-negative integer cursor`);
  return Number(value);
}

export function parseLimit(value: unknown, defaultLimit: number, maxLimit: number): number {
  if (value === undefined || value === "") return defaultLimit;
  if (typeof value !== "string" || !/^\d{1,4}$/.test(value) || Number(value) < 1) {
    throw problems.badRequest(`limit must be an integer from 1 to ${maxLimit}`);
  }
  return Math.min(Number(value), maxLimit);
}
