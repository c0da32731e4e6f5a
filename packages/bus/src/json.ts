/** JSON payload helpers and typed topics. */
import type { BusMessage, BusRecord } from "./types";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes a JSON-serialisable value as a record value (UTF-8 JSON). */
export function jsonValue(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decodes a record value written by `jsonValue`; bad UTF-8 or bad JSON gives a reason, not an exception. */
export function parseJsonValue(record: Pick<BusRecord, "value">): ParseResult<unknown> {
  let text: string;
  try {
    text = decoder.decode(record.value);
  } catch {
    return { ok: false, reason: "record value is not valid UTF-8" };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: `record value is not JSON: ${(error as Error).message}` };
  }
}

/** A topic name bound to the payload type carried on it. */
export interface TopicDefinition<T> {
  name: string;
  /** Builds a message with a JSON value; headers carry trace context and the like. */
  message(key: string, payload: T, headers?: Record<string, string>): BusMessage;
  /** Decodes and validates a record of this topic; failures give a reason (typically answered with `dlq`). */
  parse(record: Pick<BusRecord, "value">): ParseResult<T>;
}

/**
 * Defines a typed topic. `schemaParse` validates an unknown JSON value and throws on bad input
 * (a zod schema's `parse` fits); the thrown message becomes the parse failure reason.
 */
export function defineTopic<T>(name: string, schemaParse: (input: unknown) => T): TopicDefinition<T> {
  return {
    name,
    message(key, payload, headers) {
      return headers === undefined
        ? { key, value: jsonValue(payload) }
        : { key, value: jsonValue(payload), headers };
    },
    parse(record) {
      const json = parseJsonValue(record);
      if (!json.ok) return json;
      try {
        return { ok: true, value: schemaParse(json.value) };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return { ok: false, reason: `invalid ${name} payload: ${detail}` };
      }
    },
  };
}
