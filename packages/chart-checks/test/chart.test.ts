import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  at,
  chartDir,
  componentObject,
  envNamesReadBy,
  ingressPaths,
  isRecord,
  type K8sObject,
  kubernetesVersion,
  objectsOfKind,
  overlappingPaths,
  parseManifests,
  routeRequest,
  routesOf,
  type ServiceName,
  samplePath,
  selects,
  serviceNames,
} from "../src/index.ts";
import { helm, render, requiredValues, template, tools } from "./helm.ts";

const productionValues = ["-f", join(chartDir, "ci", "production-values.yaml")];
const withServiceMonitorCrd = ["--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"];

/** Public requests and the service that must answer each (derived from the routers, plus fixed cases). */
function expectedRoutes(): Array<{ path: string; service: ServiceName; why: string }> {
  const expected: Array<{ path: string; service: ServiceName; why: string }> = [];
  for (const service of serviceNames) {
    for (const route of routesOf(service)) {
      // The mailbox GET shares its path with the ActivityPub inbox POST: path-only routing sends it to
      // inbox-ingest, and clients use /api/v1/mailbox instead (docs/decisions.md, "Mailbox paths").
      const owner: ServiceName =
        route.method === "GET" && route.path === "/users/:username/inbox" ? "inbox-ingest" : service;
      expected.push({
        path: samplePath(route.path),
        service: owner,
        why: `${route.method} ${route.path} (${service})`,
      });
    }
  }
  return expected;
}

describe.skipIf(tools === undefined)("the mimi chart (helm, kubeconform)", () => {
  let workDir = "";
  let defaultRender = "";
  let productionRender = "";

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), "mimi-chart-"));
    defaultRender = render(requiredValues);
    productionRender = render([...productionValues, ...withServiceMonitorCrd]);
    writeFileSync(join(workDir, "default.yaml"), defaultRender);
    writeFileSync(join(workDir, "production.yaml"), productionRender);
  });
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("passes helm lint --strict with the required values and with the production values", () => {
    for (const values of [requiredValues, productionValues]) {
      const result = helm(["lint", "--strict", "--kube-version", kubernetesVersion, chartDir, ...values]);
      expect(result.output).toContain("0 chart(s) failed");
      expect(result.status).toBe(0);
    }
  });

  it("refuses to render without the required values, naming each", () => {
    const missingDomain = template([]);
    expect(missingDomain.status).not.toBe(0);
    expect(missingDomain.output).toContain("domain is required");
    const noSecret = template(["--set", "domain=example.test"]);
    expect(noSecret.output).toContain("existingSecret is required");
    const httpInProduction = template([...requiredValues, "--set", "publicUrl=http://example.test"]);
    expect(httpInProduction.output).toContain("publicUrl must be an https URL");
  });

  it("rejects values of the wrong type through values.schema.json", () => {
    const result = template([...requiredValues, "--set", "environment=staging"]);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/environment/);
  });

  it("renders manifests that kubeconform -strict accepts against the offline schemas", () => {
    const result = spawnSync(
      tools?.kubeconform ?? "kubeconform",
      [
        "-strict",
        "-summary",
        "-schema-location",
        tools?.schemaLocation ?? "",
        join(workDir, "default.yaml"),
        join(workDir, "production.yaml"),
      ],
      { encoding: "utf8" },
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    expect(result.status).toBe(0);
  });

  it("kubeconform -strict refuses an unknown field (the schemas are strict)", () => {
    const broken = defaultRender.replace(
      "revisionHistoryLimit: 5",
      "revisionHistoryLimit: 5\n  replicasTypo: 3",
    );
    writeFileSync(join(workDir, "broken.yaml"), broken);
    const result = spawnSync(
      tools?.kubeconform ?? "kubeconform",
      ["-strict", "-schema-location", tools?.schemaLocation ?? "", join(workDir, "broken.yaml")],
      { encoding: "utf8" },
    );
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain("replicasTypo");
  });

  describe.each([
    { name: "default values", text: () => defaultRender },
    { name: "production values", text: () => productionRender },
  ])("with $name", ({ text }) => {
    let objects: K8sObject[] = [];
    beforeAll(() => {
      objects = parseManifests(text());
    });

    it("creates no Secret: secrets come from existing ones", () => {
      expect(objectsOfKind(objects, "Secret")).toEqual([]);
    });

    it.each(serviceNames)("hardens and wires %s", (service) => {
      const deployment = componentObject(objects, "Deployment", service);
      const podLabels = at(deployment, "spec.template.metadata.labels");
      const selector = at(deployment, "spec.selector.matchLabels");
      expect(selects(selector, podLabels)).toBe(true);
      const pod = at(deployment, "spec.template.spec");
      expect(at(pod, "automountServiceAccountToken")).toBe(false);
      expect(at(pod, "securityContext.runAsNonRoot")).toBe(true);
      expect(at(pod, "securityContext.seccompProfile.type")).toBe("RuntimeDefault");
      const spread = at(pod, "topologySpreadConstraints");
      expect(Array.isArray(spread) && spread.length > 0).toBe(true);
      for (const constraint of spread as unknown[])
        expect(selects(at(constraint, "labelSelector.matchLabels"), podLabels)).toBe(true);

      const containers = at(pod, "containers") as unknown[];
      expect(containers).toHaveLength(1);
      const container = containers[0];
      expect(at(container, "securityContext")).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(at(container, "args")).toEqual(["node", "--import", "./dist/instrument.js", "dist/main.js"]);
      expect(at(container, "livenessProbe.httpGet")).toEqual({ path: "/healthz", port: "http" });
      expect(at(container, "readinessProbe.httpGet")).toEqual({ path: "/readyz", port: "http" });
      expect(at(container, "resources.requests.cpu")).toBeDefined();
      expect(at(container, "resources.requests.memory")).toBeDefined();
      expect(at(container, "resources.limits.memory")).toBeDefined();
      expect(at(container, "volumeMounts")).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
      expect(at(pod, "volumes.0")).toMatchObject({ name: "tmp", emptyDir: {} });

      const serviceAccount = componentObject(objects, "ServiceAccount", service);
      expect(at(serviceAccount, "automountServiceAccountToken")).toBe(false);
      expect(at(pod, "serviceAccountName")).toBe(serviceAccount.metadata.name);

      const kubeService = componentObject(objects, "Service", service);
      expect(selects(at(kubeService, "spec.selector"), podLabels)).toBe(true);
      expect(at(kubeService, "spec.ports.0.targetPort")).toBe("http");

      const pdb = componentObject(objects, "PodDisruptionBudget", service);
      expect(selects(at(pdb, "spec.selector.matchLabels"), podLabels)).toBe(true);
      const policy = componentObject(objects, "NetworkPolicy", service);
      expect(selects(at(policy, "spec.podSelector.matchLabels"), podLabels)).toBe(true);
      expect(at(policy, "spec.policyTypes")).toEqual(["Ingress", "Egress"]);

      const autoscaled = objects.some(
        (object) =>
          object.kind === "HorizontalPodAutoscaler" &&
          object.metadata.labels?.["app.kubernetes.io/component"] === service,
      );
      if (autoscaled) {
        const hpa = componentObject(objects, "HorizontalPodAutoscaler", service);
        expect(at(hpa, "apiVersion")).toBe("autoscaling/v2");
        expect(at(hpa, "spec.scaleTargetRef")).toEqual({
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: deployment.metadata.name,
        });
        expect(at(deployment, "spec.replicas")).toBeUndefined();
      } else {
        expect(at(deployment, "spec.replicas")).toBeGreaterThan(0);
      }
    });

    it.each(serviceNames)("sets only variables %s reads, and the ones it needs", (service) => {
      const container = at(
        componentObject(objects, "Deployment", service),
        "spec.template.spec.containers.0",
      );
      const env = at(container, "env") as Array<{ name: string; value?: string; valueFrom?: unknown }>;
      const names = env.map((entry) => entry.name);
      const reads = envNamesReadBy(service);
      expect(names.filter((name) => !reads.has(name))).toEqual([]);
      const needed = [
        "MIMI_ENV",
        "MIMI_DOMAIN",
        "MIMI_PUBLIC_URL",
        "PORT",
        "DATABASE_URL",
        "MIMI_KEY_ENCRYPTION_KEY",
        "MIMI_DATA_DIR",
      ];
      if (service === "channel-sequencer" || service === "inbox-ingest" || service === "delivery-fanout")
        needed.push("KAFKA_BROKERS");
      // Claim state and rate-limit counts shared by the replicas.
      if (service === "keypackage-directory" || service === "identity" || service === "inbox-ingest")
        needed.push("REDIS_URL");
      for (const name of needed) expect(names, `${service} needs ${name}`).toContain(name);
      for (const secretName of ["DATABASE_URL", "MIMI_KEY_ENCRYPTION_KEY"]) {
        const entry = env.find((candidate) => candidate.name === secretName);
        expect(entry?.value, `${secretName} comes from a Secret`).toBeUndefined();
        expect(at(entry, "valueFrom.secretKeyRef.name")).toBeTruthy();
      }
      expect(env.find((entry) => entry.name === "MIMI_DATA_DIR")?.value).toMatch(/^\/tmp\//);
    });

    it("routes every public path to the service that serves it, and nothing else", () => {
      const ingresses = objectsOfKind(objects, "Ingress");
      expect(ingresses).toHaveLength(1);
      const ingress = ingresses[0] as K8sObject;
      expect(ingress.metadata.annotations?.["nginx.ingress.kubernetes.io/use-regex"]).toBe("true");
      expect(ingress.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-buffering"]).toBe("off");
      const paths = ingressPaths(ingress);
      const host = paths[0]?.host ?? "";
      expect(["example.test", "chat.example.org"]).toContain(host);
      const serviceObjectNames = new Map(
        serviceNames.map((service) => [componentObject(objects, "Service", service).metadata.name, service]),
      );
      const cases = [
        ...expectedRoutes(),
        { path: "/.well-known/webfinger", service: "identity", why: "WebFinger" },
        { path: "/api/v1/clients/c-1/credential", service: "identity", why: "credential issuance" },
        { path: "/api/v1/mailbox/stream", service: "delivery-fanout", why: "mailbox stream (SSE)" },
        { path: "/channels/AbC_12-xY/inbox", service: "inbox-ingest", why: "channel inbox" },
        { path: "/users/alice/outbox", service: "inbox-ingest", why: "client outbox" },
      ];
      for (const { path, service, why } of cases) {
        const route = routeRequest(paths, host, path, "nginx-regex");
        expect(route && serviceObjectNames.get(route.serviceName), `${why}: ${path}`).toBe(service);
        // At most one non-Exact path matches: the answer does not depend on the controller's order.
        expect(
          overlappingPaths(paths, host, path).length,
          `${path} matched by several paths`,
        ).toBeLessThanOrEqual(1);
      }
      for (const internal of ["/metrics", "/healthz", "/readyz", "/", "/users", "/channels"]) {
        expect(
          routeRequest(paths, host, internal, "nginx-regex"),
          `${internal} must not be public`,
        ).toBeUndefined();
      }
      // Fixed paths use Exact/Prefix and route the same for any controller.
      for (const path of paths.filter((candidate) => candidate.pathType !== "ImplementationSpecific")) {
        expect(routeRequest(paths, host, path.path, "standard")?.serviceName).toBe(path.serviceName);
      }
    });

    it("migrates every service, identity first, in a pre-install/pre-upgrade hook", () => {
      const job = objectsOfKind(objects, "Job")[0];
      expect(job?.metadata.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
      const spec = at(job, "spec.template.spec");
      const steps = [
        ...((at(spec, "initContainers") as unknown[]) ?? []),
        ...((at(spec, "containers") as unknown[]) ?? []),
      ];
      expect(steps.map((step) => at(step, "name"))).toEqual(
        serviceNames.map((service) => `migrate-${service}`),
      );
      for (const step of steps) {
        expect(at(step, "args")).toEqual(["node", "dist/main.js", "migrate"]);
        expect(at(step, "securityContext.readOnlyRootFilesystem")).toBe(true);
      }
      const account = objectsOfKind(objects, "ServiceAccount").find(
        (candidate) => candidate.metadata.name === at(spec, "serviceAccountName"),
      );
      expect(account?.metadata.annotations?.["helm.sh/hook"]).toContain("pre-install");
    });

    it("has a helm test pod asking WebFinger", () => {
      const tests = objectsOfKind(objects, "Pod").filter(
        (pod) => pod.metadata.annotations?.["helm.sh/hook"] === "test",
      );
      expect(tests).toHaveLength(1);
      const script = (at(tests[0], "spec.containers.0.args") as string[]).join(" ");
      expect(script).toContain("/.well-known/webfinger");
    });
  });

  it("creates ServiceMonitors only when the cluster has the CRD", () => {
    expect(objectsOfKind(parseManifests(defaultRender), "ServiceMonitor")).toEqual([]);
    const monitors = objectsOfKind(parseManifests(productionRender), "ServiceMonitor");
    expect(
      monitors.map((monitor) => monitor.metadata.labels?.["app.kubernetes.io/component"]).sort(),
    ).toEqual([...serviceNames].sort());
    for (const monitor of monitors) expect(at(monitor, "spec.endpoints.0.path")).toBe("/metrics");
  });

  it("serves discovery on the acct domain when the public URL has another host", () => {
    const ingress = objectsOfKind(parseManifests(productionRender), "Ingress")[0] as K8sObject;
    const paths = ingressPaths(ingress);
    expect(new Set(paths.map((path) => path.host))).toEqual(new Set(["chat.example.org", "example.org"]));
    expect(routeRequest(paths, "example.org", "/.well-known/webfinger", "standard")?.serviceName).toBe(
      "rel-mimi-identity",
    );
    expect(at(ingress, "spec.tls.0.hosts")).toEqual(["chat.example.org", "example.org"]);
  });

  it("honours per-service overrides, including an explicit false", () => {
    const objects = parseManifests(
      render([
        ...requiredValues,
        "--set",
        "services.identity.autoscaling.enabled=false",
        "--set",
        "services.identity.replicaCount=3",
      ]),
    );
    const identityHpa = objects.filter(
      (object) =>
        object.kind === "HorizontalPodAutoscaler" &&
        object.metadata.labels?.["app.kubernetes.io/component"] === "identity",
    );
    expect(identityHpa).toEqual([]);
    expect(at(componentObject(objects, "Deployment", "identity"), "spec.replicas")).toBe(3);
    expect(objectsOfKind(objects, "HorizontalPodAutoscaler")).toHaveLength(4);
  });

  it("keeps keypackage-directory to one replica without Redis", () => {
    const refused = template([...requiredValues, "--set", "redis.enabled=false"]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain("keypackage-directory keeps claim state in memory");
    const objects = parseManifests(
      render([
        ...requiredValues,
        "--set",
        "redis.enabled=false",
        "--set",
        "services.keypackage-directory.autoscaling.enabled=false",
        "--set",
        "services.keypackage-directory.replicaCount=1",
      ]),
    );
    const env = at(
      componentObject(objects, "Deployment", "keypackage-directory"),
      "spec.template.spec.containers.0.env",
    );
    expect(
      isRecord(env) || (Array.isArray(env) && env.some((entry) => at(entry, "name") === "REDIS_URL")),
    ).toBe(false);
  });
});
