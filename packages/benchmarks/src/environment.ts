import { randomBytes } from "node:crypto";
import { type Bus, createInProcessBus, createKafkaBus } from "@mimi/bus";
import { createLogger, type Logger } from "@mimi/service-kit";
import { createPgliteSql, createPgSql, type MigrationSet, migrateAll, type Sql } from "@mimi/store";

/** The backing services a run uses: real ones when their variables are set, embedded ones otherwise. */
export interface BenchEnvironment {
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  kafkaBrokers: string[] | undefined;
  /** Distinguishes this run's rows, keys, topics and activity ids from earlier runs on shared backends. */
  runId: string;
  logger: Logger;
}

export function readBenchEnvironment(
  env: Record<string, string | undefined> = process.env,
): BenchEnvironment {
  const brokers = env.KAFKA_BROKERS?.split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    kafkaBrokers: brokers && brokers.length > 0 ? brokers : undefined,
    runId: `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`,
    logger: createLogger({ name: "mimi-bench", level: env.BENCH_LOG_LEVEL ?? "silent" }),
  };
}

/** PostgreSQL when DATABASE_URL is set, else an in-memory PGlite; the schemas are migrated. */
export async function openBenchSql(
  environment: BenchEnvironment,
  migrations: MigrationSet[],
): Promise<{ sql: Sql; kind: string }> {
  const sql = environment.databaseUrl
    ? await createPgSql({
        connectionString: await benchDatabaseUrl(environment.databaseUrl),
        applicationName: "mimi-bench",
      })
    : await createPgliteSql();
  await migrateAll(sql, migrations);
  return { sql, kind: environment.databaseUrl ? "PostgreSQL" : "PGlite (in memory)" };
}

const BENCH_DATABASE = "mimi_bench";

/**
 * A database of its own on the same server (created once), so benchmark rows never meet the rows of
 * tests sharing DATABASE_URL.
 */
export async function benchDatabaseUrl(databaseUrl: string, name = BENCH_DATABASE): Promise<string> {
  const admin = await createPgSql({ connectionString: databaseUrl, applicationName: "mimi-bench-admin" });
  try {
    const exists = await admin.query("select 1 from pg_database where datname = $1", [name]);
    if (exists.rows.length === 0) await admin.query(`create database ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Kafka when KAFKA_BROKERS is set (topics namespaced per run), else the in-process bus. */
export async function openBenchBus(
  environment: BenchEnvironment,
  clientId: string,
  topics: string[],
): Promise<{ bus: Bus; kind: string }> {
  if (!environment.kafkaBrokers) return { bus: createInProcessBus(), kind: "in-process bus" };
  const bus = await createKafkaBus({
    brokers: environment.kafkaBrokers,
    clientId,
    topics,
    // One namespace for every run: topics are reused instead of piling up on the broker.
    namespace: "bench.",
    // kafkajs's logLevel.NOTHING: it logs an existing topic as a creation error on every run;
    // real failures still surface as failed publishes.
    logLevel: 0,
  });
  return { bus, kind: `Kafka (${environment.kafkaBrokers.join(",")})` };
}
