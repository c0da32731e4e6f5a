import { logLevel } from "kafkajs";
import { describe } from "vitest";
import { runBusContractSuite } from "./contract";
import { createKafkaBus } from "./kafka";

// Runs only against a real broker, e.g. KAFKA_BROKERS=127.0.0.1:59092 (see `bash scripts/infra env`).
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter((broker) => broker.length > 0);

describe.skipIf(brokers.length === 0)("kafka adapter", () => {
  runBusContractSuite(
    "kafka",
    async () => {
      const bus = await createKafkaBus({
        brokers,
        clientId: "bus-contract",
        partitions: 4,
        logLevel: logLevel.NOTHING,
        // Short session and heartbeat so that group joins and rebalances settle quickly in tests.
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 10_000,
        maxWaitTimeMs: 100,
      });
      return { bus, cleanup: () => bus.close() };
    },
    {
      waitTimeoutMs: 45_000,
      settleMs: 1_500,
      retryDelaysMs: [200, 600],
      manyMessages: 300,
      testTimeoutMs: 120_000,
    },
  );
});
