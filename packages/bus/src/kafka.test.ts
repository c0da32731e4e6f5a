import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { runBusContractSuite } from "./contract";
import { createKafkaBus, type KafkaBusOptions } from "./kafka";
import type { BusRecord } from "./types";
import { waitUntil } from "./wait";

// Runs only against a real broker, e.g. KAFKA_BROKERS=127.0.0.1:59092 (see `bash scripts/infra env`).
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter((broker) => broker.length > 0);

const testBusOptions: KafkaBusOptions = {
  brokers,
  clientId: "bus-contract",
  partitions: 4,
  logLevel: logLevel.NOTHING,
  // Short session and heartbeat so that group joins and rebalances settle quickly in tests.
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
};

describe.skipIf(brokers.length === 0)("kafka adapter", () => {
  runBusContractSuite(
    "kafka",
    async (supervision) => {
      const bus = await createKafkaBus({ ...testBusOptions, ...supervision });
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

  it("batches concurrent publishes, keeps each key's order, and sends what was queued before close", async () => {
    const topic = `batched-${randomUUID().slice(0, 8)}`;
    const publisher = await createKafkaBus({ ...testBusOptions, topics: [topic] });
    const keys = ["k0", "k1", "k2"];
    const perKey = 40;
    const publishes: Promise<void>[] = [];
    for (let sequence = 0; sequence < perKey; sequence++) {
      for (const key of keys) {
        publishes.push(
          publisher.publish(topic, [{ key, value: new TextEncoder().encode(`${key}:${sequence}`) }]),
        );
      }
    }
    // Not awaited before close: close must still send them and only then disconnect.
    await publisher.close();
    await Promise.all(publishes);

    const reader = await createKafkaBus(testBusOptions);
    try {
      const seen = new Map<string, number[]>();
      await reader.subscribe({
        groupId: `batched-reader-${randomUUID().slice(0, 8)}`,
        topics: [topic],
        handle: async (record) => {
          const [key, sequence] = new TextDecoder().decode(record.value).split(":") as [string, string];
          seen.set(key, [...(seen.get(key) ?? []), Number(sequence)]);
          return { kind: "ok" };
        },
      });
      await waitUntil(
        () => [...seen.values()].reduce((n, list) => n + list.length, 0) >= keys.length * perKey,
        {
          timeoutMs: 45_000,
          description: "every batched record",
        },
      );
      const inOrder = Array.from({ length: perKey }, (_, sequence) => sequence);
      for (const key of keys) expect(seen.get(key)).toEqual(inOrder);
    } finally {
      await reader.close();
    }
  }, 120_000);

  it("commits handled records per fetched batch: the next member of the group gets only new ones", async () => {
    const topic = `committed-${randomUUID().slice(0, 8)}`;
    const groupId = `committed-${randomUUID().slice(0, 8)}`;
    const bus = await createKafkaBus({ ...testBusOptions, topics: [topic], commitEveryRecords: 64 });
    const firstSeen: string[] = [];
    const laterSeen: string[] = [];
    try {
      // 250 records of one key: one partition, batches longer than 64 records and a tail shorter.
      const total = 250;
      await bus.publish(
        topic,
        Array.from({ length: total }, (_, index) => ({
          key: "one",
          value: new TextEncoder().encode(`r${index}`),
        })),
      );
      const first = await bus.subscribe({
        groupId,
        topics: [topic],
        handle: async (record) => {
          firstSeen.push(new TextDecoder().decode(record.value));
          return { kind: "ok" };
        },
      });
      await waitUntil(() => firstSeen.length >= total, {
        timeoutMs: 45_000,
        description: "the first member",
      });
      await first.stop();

      await bus.publish(topic, [{ key: "one", value: new TextEncoder().encode("after") }]);
      const second = await bus.subscribe({
        groupId,
        topics: [topic],
        handle: async (record) => {
          laterSeen.push(new TextDecoder().decode(record.value));
          return { kind: "ok" };
        },
      });
      await waitUntil(() => laterSeen.includes("after"), {
        timeoutMs: 45_000,
        description: "the next member",
      });
      await second.stop();
      expect(firstSeen).toEqual(Array.from({ length: total }, (_, index) => `r${index}`));
      expect(laterSeen).toEqual(["after"]);
    } finally {
      await bus.close();
    }
  }, 120_000);

  it("leaves the group on stop, so the coordinator drops the member at once, not after the session timeout", async () => {
    const topic = `leave-${randomUUID().slice(0, 8)}`;
    const groupId = `leave-${randomUUID().slice(0, 8)}`;
    // A session long enough that a member merely going silent would stay listed for the whole test.
    const bus = await createKafkaBus({ ...testBusOptions, topics: [topic], sessionTimeoutMs: 60_000 });
    const admin = new Kafka({ clientId: "leave-check", brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const handle = async () => ({ kind: "ok" as const });
      const [first] = await Promise.all([
        bus.subscribe({ groupId, topics: [topic], handle }),
        bus.subscribe({ groupId, topics: [topic], handle }),
      ]);
      const members = async () => {
        const { groups } = await admin.describeGroups([groupId]);
        return { state: groups[0]?.state, count: groups[0]?.members.length ?? 0 };
      };
      let seen = await members();
      for (const deadline = Date.now() + 45_000; !(seen.state === "Stable" && seen.count === 2); ) {
        if (Date.now() > deadline) throw new Error(`group did not settle: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        seen = await members();
      }
      await first?.stop();
      expect((await members()).count).toBe(1);
    } finally {
      await admin.disconnect();
      await bus.close();
    }
  }, 120_000);

  it("keeps namespaces apart: same logical topic and group, separate Kafka topics and groups", async () => {
    const run = randomUUID().slice(0, 8);
    const topic = `ns-${run}`;
    const [busA, busB] = await Promise.all([
      createKafkaBus({ ...testBusOptions, namespace: `a-${run}.` }),
      createKafkaBus({ ...testBusOptions, namespace: `b-${run}.` }),
    ]);
    try {
      const seen: { a: BusRecord[]; b: BusRecord[] } = { a: [], b: [] };
      await Promise.all([
        busA.subscribe({
          groupId: "same-group",
          topics: [topic],
          handle: async (record) => {
            seen.a.push(record);
            return { kind: "ok" };
          },
        }),
        busB.subscribe({
          groupId: "same-group",
          topics: [topic],
          handle: async (record) => {
            seen.b.push(record);
            return { kind: "ok" };
          },
        }),
      ]);
      const message = (value: string) => ({ key: value, value: new TextEncoder().encode(value) });
      await busA.publish(topic, [message("for a")]);
      await busB.publish(topic, [message("for b 1"), message("for b 2")]);
      await waitUntil(() => seen.a.length >= 1 && seen.b.length >= 2, {
        timeoutMs: 45_000,
        description: "both",
      });
      const texts = (records: BusRecord[]) => records.map((r) => new TextDecoder().decode(r.value)).sort();
      expect(texts(seen.a)).toEqual(["for a"]);
      expect(texts(seen.b)).toEqual(["for b 1", "for b 2"]);
      // Handlers see the logical names.
      expect(seen.a[0]?.topic).toBe(topic);
      expect(seen.a[0]?.sourceTopic).toBe(topic);
    } finally {
      await Promise.all([busA.close(), busB.close()]);
    }
  }, 120_000);
});
