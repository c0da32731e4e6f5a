/**
 * The contract every Bus adapter must pass. Each test uses fresh topic and group names, and waits by
 * polling with generous deadlines, so the same suite runs against the in-process bus and a real Kafka
 * cluster (where group joins and rebalances take seconds). The tests are grouped by subject in
 * `contract-delivery.ts`, `contract-outcomes.ts`, `contract-commits.ts` and `contract-crashes.ts`.
 */
import { afterEach, describe } from "vitest";
import type { SupervisionOptions } from "./consumer-supervision";
import { commitsContract } from "./contract-commits";
import { crashesContract } from "./contract-crashes";
import { deliveryContract } from "./contract-delivery";
import { outcomesContract } from "./contract-outcomes";
import type { ContractSuite } from "./contract-support";
import type { Bus, MonitoredBus, SubscribeOptions, Subscription } from "./types";
import { waitUntil } from "./wait";

export { delay, gate, type WaitOptions, waitUntil } from "./wait";

export interface BusUnderTest {
  bus: MonitoredBus;
  /** Closes the bus and anything else the factory created. */
  cleanup(): Promise<void>;
}

export interface BusContractOptions {
  /** Deadline for each awaited condition (default 10 s). */
  waitTimeoutMs?: number;
  /** Quiet period for checks that nothing more arrives (default 300 ms). */
  settleMs?: number;
  /** Two increasing retry delays used by the retry tests (default 50 ms, 150 ms). */
  retryDelaysMs?: readonly [number, number];
  /** Number of records in the no-loss test (default 400). */
  manyMessages?: number;
  /** Vitest timeout of each test (default 60 s). */
  testTimeoutMs?: number;
}

export function runBusContractSuite(
  name: string,
  /** A fresh bus; `supervision` (restart policy, event listener) is passed to the adapter as is. */
  makeBus: (supervision?: SupervisionOptions) => Promise<BusUnderTest>,
  options: BusContractOptions = {},
): void {
  const waitTimeoutMs = options.waitTimeoutMs ?? 10_000;
  const settleMs = options.settleMs ?? 300;
  const [firstDelayMs, secondDelayMs] = options.retryDelaysMs ?? [50, 150];
  const manyMessages = options.manyMessages ?? 400;
  const testTimeoutMs = options.testTimeoutMs ?? 60_000;

  describe(`bus contract: ${name}`, () => {
    let underTest: BusUnderTest | undefined;
    const subscriptions: Subscription[] = [];

    afterEach(async () => {
      for (const subscription of subscriptions.splice(0)) await subscription.stop();
      await underTest?.cleanup();
      underTest = undefined;
    });

    async function freshBus(supervision?: SupervisionOptions): Promise<MonitoredBus> {
      underTest = await makeBus(supervision);
      return underTest.bus;
    }

    async function subscribe(bus: Bus, subscribeOptions: SubscribeOptions): Promise<Subscription> {
      const subscription = await bus.subscribe(subscribeOptions);
      subscriptions.push(subscription);
      return subscription;
    }

    const until = (description: string, condition: () => boolean) =>
      waitUntil(condition, { timeoutMs: waitTimeoutMs, intervalMs: 20, description });

    const suite: ContractSuite = {
      freshBus,
      subscribe,
      until,
      waitTimeoutMs,
      settleMs,
      firstDelayMs,
      secondDelayMs,
      manyMessages,
      testTimeoutMs,
    };
    deliveryContract(suite);
    outcomesContract(suite);
    commitsContract(suite);
    crashesContract(suite);
  });
}
