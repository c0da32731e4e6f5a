/**
 * One member of the hand-over measurement's consumer group (`handover.ts` starts it as a child
 * process and kills it). Settings come from the environment the parent sets; it prints `ready` once
 * it joined, and leaves its group on SIGTERM.
 */
import { logLevel } from "kafkajs";
import { createKafkaBus } from "../src/index";

const setting = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const bus = await createKafkaBus({
  brokers: setting("KAFKA_BROKERS").split(","),
  clientId: "handover-member",
  namespace: setting("HANDOVER_NAMESPACE"),
  sessionTimeoutMs: Number(setting("HANDOVER_SESSION_TIMEOUT_MS")),
  heartbeatIntervalMs: Number(setting("HANDOVER_HEARTBEAT_INTERVAL_MS")),
  maxWaitTimeMs: 100,
  logLevel: logLevel.NOTHING,
});
await bus.subscribe({
  groupId: setting("HANDOVER_GROUP"),
  topics: [setting("HANDOVER_TOPIC")],
  handle: async () => ({ kind: "ok" }),
});
process.stdout.write("ready\n");
process.once("SIGTERM", () => {
  bus.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
