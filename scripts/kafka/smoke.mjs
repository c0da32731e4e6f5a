// End-to-end check that kafkajs (the client used by @mimi/bus) works against the local broker:
// topic creation, an idempotent producer, a consumer group with manual offset commits, and a
// rebalance when a second consumer joins the same group.
// Usage: node scripts/kafka/smoke.mjs [host:port]   (default: $KAFKA_BROKERS or 127.0.0.1:59092)

import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";

// kafkajs is a dependency of packages/bus; resolve it from there so this script needs no install of its own.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const require = createRequire(new URL("../../packages/bus/package.json", import.meta.url));
const { Kafka, logLevel } = require("kafkajs");

const brokers = (process.argv[2] ?? process.env.KAFKA_BROKERS ?? "127.0.0.1:59092").split(",");
const runId = randomUUID().slice(0, 8);
const topic = `smoke-${runId}`;
const groupId = `smoke-group-${runId}`;
const partitions = 4;
const messageCount = 40;

const kafka = new Kafka({ clientId: "mimi-smoke", brokers, logLevel: logLevel.WARN });

function assert(condition, message) {
  if (!condition) throw new Error(`smoke check failed: ${message}`);
}

async function waitUntil(what, predicate, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`smoke check timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForLeaders(name, expectedPartitions, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [name] });
      const found = metadata.topics[0]?.partitions ?? [];
      if (found.length === expectedPartitions && found.every((p) => p.leader >= 0)) return;
    } catch (error) {
      if (!error?.retriable) throw error;
    }
    if (Date.now() > deadline) throw new Error(`smoke check timed out: leaders of ${name}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const admin = kafka.admin();
await admin.connect();
// waitForLeaders is off on purpose: kafkajs only retries LEADER_NOT_AVAILABLE while waiting, but a KRaft
// broker can briefly answer UNKNOWN_TOPIC_OR_PARTITION right after CreateTopics returns. Poll instead.
const created = await admin.createTopics({
  topics: [{ topic, numPartitions: partitions }],
  waitForLeaders: false,
});
assert(created, "topic was not created");
await waitForLeaders(topic, partitions);
console.log(`created topic ${topic} with ${partitions} partitions`);

const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
async function produce(from, to) {
  const messages = [];
  for (let i = from; i < to; i++) messages.push({ key: `k${i}`, value: `v${i}` });
  await producer.send({ topic, acks: -1, messages });
}
await produce(0, messageCount / 2);
console.log(`idempotent producer sent ${messageCount / 2} messages`);

// Consumer A alone owns every partition; it commits offsets by hand after each message.
const seen = new Map(); // value -> consumer name
const assignments = { a: new Set(), b: new Set() };
function startConsumer(name) {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 10_000,
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assignments[name] = new Set(event.payload.memberAssignment[topic] ?? []);
  });
  return consumer.connect().then(async () => {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? "";
        assert(!seen.has(value), `message ${value} delivered twice`);
        seen.set(value, name);
        await consumer.commitOffsets([
          { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
      },
    });
    return consumer;
  });
}

const consumerA = await startConsumer("a");
await waitUntil("consumer a reads the first batch", () => seen.size === messageCount / 2);
assert(assignments.a.size === partitions, "consumer a should own every partition while alone");
console.log(`consumer a read ${seen.size} messages with manual commits`);

const consumerB = await startConsumer("b");
await waitUntil(
  "the group rebalances across both consumers",
  () =>
    assignments.a.size > 0 &&
    assignments.b.size > 0 &&
    assignments.a.size + assignments.b.size === partitions,
);
for (const p of assignments.a) assert(!assignments.b.has(p), `partition ${p} assigned to both consumers`);
console.log(`rebalanced: a owns [${[...assignments.a]}], b owns [${[...assignments.b]}]`);

await produce(messageCount / 2, messageCount);
await waitUntil("both consumers read the second batch", () => seen.size === messageCount);
const readers = new Set(
  [...seen.entries()].filter(([v]) => Number(v.slice(1)) >= messageCount / 2).map(([, c]) => c),
);
assert(readers.size === 2, "second batch should be split across both consumers");
console.log("second batch was consumed by both group members without duplicates");

await consumerA.disconnect();
await consumerB.disconnect();
const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
const committedTotal = committed[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
assert(
  committedTotal === messageCount,
  `committed offsets add up to ${committedTotal}, expected ${messageCount}`,
);
console.log(`committed offsets add up to ${committedTotal}`);

await producer.disconnect();
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();
console.log("kafka smoke test passed");
