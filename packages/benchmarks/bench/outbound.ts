import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { createServer } from "node:http";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import type { Sql } from "@mimi/store";
import {
  type BenchEnvironment,
  closeServer,
  listenLocally,
  type Metric,
  openBenchSql,
  portOf,
  profiled,
  ratePerSecond,
  type Scenario,
} from "../src/index.js";
import { DELIVERY_MIGRATIONS, ORIGINS, SIGNER, startDeliveryRig } from "./delivery-rig.js";
import { numberSetting } from "./settings.js";

/**
 * Signed deliveries per second through delivery-fanout's `delivery.jobs` consumer (sign, POST, record
 * the destination's health) to a local sink that answers 202, with RSA-2048 and with Ed25519 keys;
 * the ceiling is node:crypto's sign rate for the same key and a signing string of the same size.
 */
export const outboundScenario: Scenario = {
  name: "outbound",
  async run(environment) {
    const jobs = numberSetting("BENCH_OUTBOUND_JOBS", 2000);
    const { sql, kind: sqlKind } = await openBenchSql(environment, DELIVERY_MIGRATIONS);
    const metrics: Metric[] = [];
    const details: Record<string, unknown> = {};
    for (const keyType of ["rsa", "ed25519"] as const) {
      const pair =
        keyType === "rsa"
          ? generateKeyPairSync("rsa", { modulusLength: 2048 })
          : generateKeyPairSync("ed25519");
      const sent = await deliveryRate(environment, sql, pair.privateKey, jobs, `${keyType}-`);
      const ceiling = rawSignRate(pair.privateKey, keyType);
      const label = keyType === "rsa" ? "RSA-2048" : "Ed25519";
      metrics.push({
        scenario: "2 outbound",
        name: `signed deliveries/s, ${label}`,
        value: sent.perSecond,
        unit: "/s",
        reference: { name: `node:crypto ${label} signs/s`, value: ceiling },
        ...(keyType === "rsa" ? { target: { kind: "atLeast" as const, bound: 0.8, ofReference: true } } : {}),
      });
      details[keyType] = { ...sent, rawSignsPerSecond: ceiling };
    }
    await sql.close();
    return {
      metrics,
      notes: [
        `delivery-fanout send consumer on ${sqlKind} with the in-process bus (4 partitions, as the standalone provider), ${jobs} jobs per key type over ${ORIGINS} destination origins; the sink answers 202 without checking`,
      ],
      details,
    };
  },
};

async function deliveryRate(
  environment: BenchEnvironment,
  sql: Sql,
  privateKey: KeyObject,
  jobs: number,
  label: string,
): Promise<{ delivered: number; elapsedMs: number; perSecond: number }> {
  let delivered = 0;
  let lastAt = 0;
  let allDelivered: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDelivered = resolve;
  });
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(202).end();
      delivered += 1;
      lastAt = performance.now();
      if (delivered === jobs) allDelivered();
    });
  });
  await listenLocally(sink);
  const rig = await startDeliveryRig(environment, {
    sql,
    sinkPort: portOf(sink),
    signingKey: { keyId: `${SIGNER}#main-key`, privateKey },
  });
  const messages = rig.jobs(jobs, `${environment.runId}-${label}`);
  const started = performance.now();
  const timeout = setTimeout(allDelivered, 120_000);
  await profiled(`outbound-${label.replace(/-$/, "")}`, async () => {
    await rig.publish(messages);
    await done;
  });
  clearTimeout(timeout);
  await rig.close();
  await closeServer(sink);
  const elapsedMs = lastAt - started;
  return { delivered, elapsedMs, perSecond: ratePerSecond(delivered, elapsedMs) };
}

/** Signatures per second over a draft-cavage signing string like a delivery's, for ~1.5 s. */
function rawSignRate(privateKey: KeyObject, keyType: "rsa" | "ed25519"): number {
  const signingString = Buffer.from(
    [
      "(request-target): post /inbox",
      "host: sink0.test",
      `date: ${new Date().toUTCString()}`,
      "digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
      `content-type: ${ACTIVITY_JSON}`,
    ].join("\n"),
  );
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < 1500) {
    sign(keyType === "rsa" ? "sha256" : null, signingString, privateKey);
    count += 1;
  }
  return ratePerSecond(count, performance.now() - started);
}
