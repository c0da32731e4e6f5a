import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES } from "@mimi/split";
import { FAST_DELIVERY_ENV, infraFromEnv, runE2eSuite as runE2eSuiteAgainst } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChartDeployment,
  chartProcessPlan,
  developmentValues,
  localCommandOf,
  renderRelease,
  resolveEnvironment,
  startChartDeployment,
} from "../src/chart-processes.ts";
import { at, isRecord, type K8sObject } from "../src/manifests.ts";
import { findChartTools } from "../src/tools.ts";

const tools = findChartTools();
const { available: haveInfra, ...infra } = infraFromEnv();

/** A typo in the chart's env helper: every container of every workload names `from` as `to`. */
function renameEnv(objects: K8sObject[], from: string, to: string): K8sObject[] {
  const renamed = structuredClone(objects);
  for (const object of renamed) {
    for (const path of ["spec.template.spec.containers", "spec.template.spec.initContainers"]) {
      const containers = at(object, path);
      for (const container of Array.isArray(containers) ? containers : []) {
        const env = at(container, "env");
        for (const entry of Array.isArray(env) ? env : []) {
          if (isRecord(entry) && entry.name === from) entry.name = to;
        }
      }
    }
  }
  return renamed;
}

describe.skipIf(tools === undefined)("the chart's processes, read from a render", () => {
  let objects: K8sObject[] = [];
  let workDir = "";

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), "mimi-chart-processes-"));
    const valuesFile = join(workDir, "values.yaml");
    writeFileSync(
      valuesFile,
      JSON.stringify(
        developmentValues({
          domain: "a.test",
          secretName: "mimi-secrets",
          devConnectTo: "a.test=127.0.0.1:8081",
          kafkaBrokers: "127.0.0.1:9092",
          env: { MIMI_KAFKA_TOPIC_PREFIX: "t.a_test." },
        }),
      ),
    );
    objects = renderRelease(tools?.helm ?? "helm", "a-test", valuesFile);
  });

  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it("finds five services, migrations identity first, and where the sequencer Service points", () => {
    const plan = chartProcessPlan(objects);
    if (!plan.ok) throw new Error(plan.reason);
    expect(plan.value.services.map((container) => container.service)).toEqual([...SERVICES]);
    expect(plan.value.migrations.map((container) => container.service)[0]).toBe("identity");
    expect(plan.value.migrations.every((container) => container.args.at(-1) === "migrate")).toBe(true);
    expect(plan.value.serviceHosts.get("a-test-mimi-channel-sequencer")).toBe("channel-sequencer");
  });

  it("resolves secrets, rewrites in-cluster URLs and PORT, and keeps every other variable as rendered", () => {
    const plan = chartProcessPlan(objects);
    if (!plan.ok) throw new Error(plan.reason);
    const ingest = plan.value.services.find((container) => container.service === "inbox-ingest");
    if (!ingest) throw new Error("no inbox-ingest");
    // A variable naming a release Service by its in-cluster URL (none of the chart's does today).
    const sequencerUrl = { name: "EXAMPLE_SEQUENCER_URL", value: "http://a-test-mimi-channel-sequencer:80" };
    const env = resolveEnvironment([...ingest.env, sequencerUrl], {
      secrets: {
        "mimi-secrets": {
          DATABASE_URL: "postgres://db/x",
          MIMI_KEY_ENCRYPTION_KEY: "k",
          REDIS_URL: "redis://cache:6379",
        },
      },
      serviceHosts: plan.value.serviceHosts,
      localAddressOf: (service) => (service === "channel-sequencer" ? "http://127.0.0.1:4100" : "http://no"),
      port: 4200,
    });
    if (!env.ok) throw new Error(env.reason);
    expect(env.value).toMatchObject({
      MIMI_DOMAIN: "a.test",
      MIMI_ENV: "development",
      DATABASE_URL: "postgres://db/x",
      // The inbox and outbox rate limits are counted in Redis, shared by every replica.
      REDIS_URL: "redis://cache:6379",
      EXAMPLE_SEQUENCER_URL: "http://127.0.0.1:4100",
      MIMI_KAFKA_TOPIC_PREFIX: "t.a_test.",
      PORT: "4200",
    });
    expect(Object.keys(env.value).sort()).toEqual(
      [...ingest.env, sequencerUrl].map((entry) => entry.name).sort(),
    );
    const command = localCommandOf(ingest);
    if (!command.ok) throw new Error(command.reason);
    // The image's tracing preload becomes the source module's; the entry point is the service's source.
    expect(command.value.slice(1, 5)).toEqual([
      "--import",
      "tsx",
      "--import",
      "@mimi/service-kit/instrument",
    ]);
    expect(command.value[5]).toMatch(/services\/inbox-ingest\/src\/main\.ts$/);
  });

  it("runs a container without the preload as the source without it, and refuses other commands", () => {
    const bare = { service: "identity" as const, args: ["node", "dist/main.js", "migrate"], env: [] };
    const command = localCommandOf(bare);
    if (!command.ok) throw new Error(command.reason);
    expect(command.value.slice(1, 3)).toEqual(["--import", "tsx"]);
    expect(command.value.at(-1)).toBe("migrate");
    expect(command.value).not.toContain("@mimi/service-kit/instrument");
    expect(
      localCommandOf({ ...bare, args: ["node", "--import", "./other.js", "dist/main.js"] }),
    ).toMatchObject({
      ok: false,
    });
  });

  it("names a Secret key the test store lacks", () => {
    const plan = chartProcessPlan(objects);
    if (!plan.ok) throw new Error(plan.reason);
    const identity = plan.value.services[0];
    if (!identity) throw new Error("no identity");
    const env = resolveEnvironment(identity.env, {
      secrets: { "mimi-secrets": { DATABASE_URL: "postgres://db/x" } },
      serviceHosts: plan.value.serviceHosts,
      localAddressOf: () => "http://127.0.0.1:1",
    });
    expect(env).toEqual({
      ok: false,
      reason: "MIMI_KEY_ENCRYPTION_KEY: Secret mimi-secrets has no key MIMI_KEY_ENCRYPTION_KEY",
    });
  });
});

/** Runs services/standalone/test/e2e against `deployment`; `extraArgs` go to vitest. */
function runE2eSuite(deployment: ChartDeployment, extraArgs: string[] = []) {
  return runE2eSuiteAgainst(deployment.describeForE2e(), extraArgs);
}

describe.skipIf(tools === undefined || !haveInfra)(
  "the chart's configuration, run as processes (PostgreSQL, Kafka, Redis)",
  () => {
    let deployment: ChartDeployment | undefined;
    let stateDir = "";
    let suiteFailed = false;

    beforeAll(() => {
      stateDir = mkdtempSync(join(tmpdir(), "mimi-chart-run-"));
    });

    afterAll(async () => {
      await deployment?.stop();
      // Logs stay for a failed run.
      if (!suiteFailed) rmSync(stateDir, { recursive: true, force: true });
    }, 60_000);

    // In development MIMI_DOMAIN defaults to localhost, so the services boot; the suite must catch it
    // (its first test fails within seconds: "b.test has no user bob").
    it("the suite fails when the chart misnames MIMI_DOMAIN (the services boot with the default domain)", async () => {
      deployment = await startChartDeployment({
        helm: tools?.helm ?? "helm",
        domains: ["a.test", "b.test", "c.test"],
        infra,
        stateDir: join(stateDir, "misnamed"),
        prefix: "mimi_chart_misnamed",
        fresh: true,
        env: FAST_DELIVERY_ENV,
        transformManifests: (objects) => renameEnv(objects, "MIMI_DOMAIN", "MIMI_DOMAN"),
      });
      const { code, output } = await runE2eSuite(deployment, ["--bail=1"]);
      await deployment.stop();
      deployment = undefined;
      expect(code).not.toBe(0);
      expect(output).toMatch(/Tests\s+[1-9]\d* failed/);
    }, 180_000);

    it("runs services/standalone/test/e2e green against three releases", async () => {
      deployment = await startChartDeployment({
        helm: tools?.helm ?? "helm",
        domains: ["a.test", "b.test", "c.test"],
        infra,
        stateDir: join(stateDir, "deployment"),
        // One fixed prefix, started fresh: reruns reuse (and first empty) the same databases and topics.
        prefix: "mimi_chart_e2e",
        fresh: true,
        env: FAST_DELIVERY_ENV,
      });
      const { code, output } = await runE2eSuite(deployment);
      if (code !== 0) {
        suiteFailed = true;
        process.stderr.write(`${output}\nservice logs: ${stateDir}\n`);
      }
      expect(code).toBe(0);
      // Every test ran: none was skipped for lack of a hostile provider or POST counts.
      const summary = /Tests\s+(\d+) passed \((\d+)\)/.exec(output);
      expect(summary).not.toBeNull();
      expect(summary?.[1]).toBe(summary?.[2]);
    }, 900_000);
  },
);
