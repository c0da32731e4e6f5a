/**
 * Measures how long a consumer group takes to hand a member's partitions to another member: after
 * the member's process is killed (SIGKILL: no goodbye, the coordinator notices when the session
 * times out) and after it stops gracefully (SIGTERM: it leaves the group). Against a real broker:
 *
 *   eval "$(bash scripts/infra env)"
 *   node --import tsx packages/bus/bench/handover.ts [sessionTimeoutMs] [heartbeatIntervalMs]
 *
 * A member B runs here, a member A in a child process; records go to every partition every 50 ms.
 * The hand-over time is from the signal until B has handled a record, published after the signal,
 * from every partition A owned.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import {
  createKafkaBus,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  partitionForKey,
} from "../src/index";

const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter((broker) => broker.length > 0);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set (eval "$(bash scripts/infra env)")');
const sessionTimeoutMs = Number(process.argv[2] ?? DEFAULT_SESSION_TIMEOUT_MS);
const heartbeatIntervalMs = Number(process.argv[3] ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
const partitions = 6;
const member = fileURLToPath(new URL("./handover-member.ts", import.meta.url));
const repositoryRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** One key per partition, so every partition gets records. */
const keys = Array.from({ length: partitions }, (_, partition) => {
  for (let candidate = 0; ; candidate++) {
    if (partitionForKey(`key-${candidate}`, partitions) === partition) return `key-${candidate}`;
  }
});

async function measure(signal: "SIGKILL" | "SIGTERM"): Promise<number> {
  const run = randomUUID().slice(0, 8);
  const namespace = `handover-${run}.`;
  const topic = "records";
  const groupId = "members";
  const bus = await createKafkaBus({
    brokers,
    clientId: "handover",
    namespace,
    partitions,
    topics: [topic],
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxWaitTimeMs: 100,
    logLevel: logLevel.NOTHING,
  });
  const admin = new Kafka({ clientId: "handover-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  let child: ChildProcess | undefined;
  let publisher: NodeJS.Timeout | undefined;
  try {
    // Partition -> when B last handled a record of it that was published after the signal.
    const handledAfterSignal = new Map<number, number>();
    let signalledAt = Number.POSITIVE_INFINITY;
    await bus.subscribe({
      groupId,
      topics: [topic],
      handle: async (record) => {
        const publishedAt = Number(new TextDecoder().decode(record.value));
        if (publishedAt > signalledAt && !handledAfterSignal.has(record.partition)) {
          handledAfterSignal.set(record.partition, Date.now());
        }
        return { kind: "ok" };
      },
    });
    child = spawn(process.execPath, ["--import", "tsx", member], {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        HANDOVER_NAMESPACE: namespace,
        HANDOVER_TOPIC: topic,
        HANDOVER_GROUP: groupId,
        HANDOVER_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
        HANDOVER_HEARTBEAT_INTERVAL_MS: String(heartbeatIntervalMs),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child?.once("exit", (code) => reject(new Error(`member exited with ${code}`)));
      createInterface({ input: child?.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        if (line === "ready") resolve();
      });
    });
    // Wait until both members hold partitions.
    let ownedByChild: number[] = [];
    for (const deadline = Date.now() + 60_000; ownedByChild.length === 0; ) {
      if (Date.now() > deadline) throw new Error("the group did not settle with two members");
      const { groups } = await admin.describeGroups([`${namespace}${groupId}`]);
      const group = groups[0];
      if (group?.state === "Stable" && group.members.length === 2) {
        const childMember = group.members.find((entry) => entry.clientId === "handover-member");
        ownedByChild = childMember
          ? assignedPartitions(childMember.memberAssignment, `${namespace}${topic}`)
          : [];
      }
      if (ownedByChild.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    publisher = setInterval(() => {
      const now = String(Date.now());
      void bus.publish(
        topic,
        keys.map((key) => ({ key, value: new TextEncoder().encode(now) })),
      );
    }, 50);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    signalledAt = Date.now();
    child.kill(signal);
    for (const deadline = signalledAt + sessionTimeoutMs + 60_000; ; ) {
      if (ownedByChild.every((partition) => handledAfterSignal.has(partition))) break;
      if (Date.now() > deadline) throw new Error("the partitions were not handed over");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return Math.max(...ownedByChild.map((partition) => handledAfterSignal.get(partition) ?? 0)) - signalledAt;
  } finally {
    clearInterval(publisher);
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await admin.disconnect();
    await bus.close();
  }
}

/** Partitions of `topic` in a consumer's assignment (the consumer protocol's MemberAssignment bytes). */
function assignedPartitions(assignment: Buffer, topic: string): number[] {
  // version int16, then [topic string, [partition int32]], then user data.
  let offset = 2;
  const topics = assignment.readInt32BE(offset);
  offset += 4;
  const found: number[] = [];
  for (let index = 0; index < topics; index++) {
    const nameLength = assignment.readInt16BE(offset);
    offset += 2;
    const name = assignment.toString("utf8", offset, offset + nameLength);
    offset += nameLength;
    const count = assignment.readInt32BE(offset);
    offset += 4;
    for (let item = 0; item < count; item++) {
      if (name === topic) found.push(assignment.readInt32BE(offset));
      offset += 4;
    }
  }
  return found;
}

console.log(
  `session timeout ${sessionTimeoutMs} ms, heartbeat ${heartbeatIntervalMs} ms, ${partitions} partitions`,
);
for (const signal of ["SIGKILL", "SIGTERM"] as const) {
  const ms = await measure(signal);
  console.log(`${signal}: partitions handed over after ${ms} ms`);
}
