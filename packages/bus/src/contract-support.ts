/** What the groups of the bus contract suite share (see `contract.ts`). */
import type { SupervisionOptions } from "./consumer-supervision";
import type { Bus, BusRecord, HandlerOutcome, MonitoredBus, SubscribeOptions, Subscription } from "./types";

/** One adapter's run of the suite: its bus, waits and settings (`BusContractOptions` with defaults). */
export interface ContractSuite {
  /** A fresh bus for the running test, closed after it. */
  freshBus(supervision?: SupervisionOptions): Promise<MonitoredBus>;
  /** Subscribes; the subscription is stopped after the running test. */
  subscribe(bus: Bus, options: SubscribeOptions): Promise<Subscription>;
  /** Polls until `condition()` holds; fails naming `description` after `waitTimeoutMs`. */
  until(description: string, condition: () => boolean): Promise<void>;
  waitTimeoutMs: number;
  settleMs: number;
  firstDelayMs: number;
  secondDelayMs: number;
  manyMessages: number;
  testTimeoutMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const text = (value: string) => encoder.encode(value);
export const textOf = (record: BusRecord) => decoder.decode(record.value);
export const ok: HandlerOutcome = { kind: "ok" };

/** A handler that notes each record's text in `into` and answers `ok`. */
export const recordInto =
  (into: string[]) =>
  async (record: BusRecord): Promise<HandlerOutcome> => {
    into.push(textOf(record));
    return ok;
  };

/** A topic or group name no earlier test (or earlier run against the same broker) used. */
export function uniqueName(label: string): string {
  return `contract.${label}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
