import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPOSITORY_ROOT } from "../deployment.js";

/**
 * The fault suite's own PostgreSQL, Redis and Kafka: `scripts/infra` with another state folder and
 * other ports, so restarting them disturbs no other test that uses the usual ones.
 */
export interface BackingServices {
  /** The state folder and ports handed to `scripts/infra`. */
  dir: string;
  postgresPort: number;
  redisPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
}

export type BackingService = "postgres" | "redis" | "kafka";

/**
 * Ports above Linux's ephemeral range (32768-60999 by default): these services start late in a test
 * run and are restarted while clients reconnect, and a port an outgoing connection happens to hold
 * cannot be bound ("Address already in use").
 */
export const FAULT_BACKING_SERVICES: BackingServices = {
  dir: join(REPOSITORY_ROOT, ".split", "faults-infra"),
  postgresPort: 61442,
  redisPort: 61389,
  kafkaPort: 61102,
  kafkaControllerPort: 61103,
};

/** The connection settings a split deployment on these backing services uses. */
export function connectionsOf(services: BackingServices): {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
} {
  return {
    databaseUrl: `postgres://mimi:mimi@127.0.0.1:${services.postgresPort}/mimi`,
    redisUrl: `redis://127.0.0.1:${services.redisPort}`,
    kafkaBrokers: `127.0.0.1:${services.kafkaPort}`,
  };
}

/** Runs `bash scripts/infra <command> [service]` on these backing services; rejects with its output. */
export async function infra(
  services: BackingServices,
  command: "up" | "down" | "restart" | "status",
  service?: BackingService,
): Promise<string> {
  const child = spawn(
    "bash",
    [join(REPOSITORY_ROOT, "scripts", "infra"), command, ...(service ? [service] : [])],
    {
      env: {
        ...process.env,
        MIMI_INFRA_DIR: services.dir,
        MIMI_PG_PORT: String(services.postgresPort),
        MIMI_REDIS_PORT: String(services.redisPort),
        MIMI_KAFKA_PORT: String(services.kafkaPort),
        MIMI_KAFKA_CONTROLLER_PORT: String(services.kafkaControllerPort),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on("close", (exitCode) => done(exitCode)));
  if (code !== 0) {
    throw new Error(`scripts/infra ${command} ${service ?? ""} exited ${code}:\n${output.slice(-3_000)}`);
  }
  return output;
}
