import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  at,
  chartDir,
  componentObject,
  envNamesReadBy,
  type K8sObject,
  parseManifests,
  type ServiceName,
  serviceNames,
} from "../src/index.ts";
import { render, requiredValues, tools } from "./helm.ts";

const values = parseYaml(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Record<string, unknown>;
const limits = values.limits as Record<string, Record<string, unknown>>;
const readme = readFileSync(join(chartDir, "README.md"), "utf8");
/** The `mimi.limitVariables` table of the chart's helpers: `limits.<service>.<key>` to its variable. */
const helpers = readFileSync(join(chartDir, "templates", "_helpers.tpl"), "utf8");
const variablesBlock =
  /\{\{- define "mimi\.limitVariables" -\}\}\n([\s\S]*?)\{\{- end -\}\}/.exec(helpers)?.[1] ?? "";
const variables = parseYaml(variablesBlock) as Record<string, Record<string, string>>;

type EnvEntry = { name: string; value?: string };

/** A value of the right kind for each limit: a rate rule, a list of names or a count. */
function sampleValue(key: string): string | number {
  if (key === "reservedUsernames") return "helpdesk,billing";
  const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as Record<
    string,
    unknown
  >;
  for (const service of Object.keys(limits)) {
    const pattern = at(schema, `properties.limits.properties.${service}.properties.${key}.pattern`);
    if (typeof pattern === "string") return "7/11";
  }
  return 13;
}

function envOf(objects: K8sObject[], service: ServiceName): EnvEntry[] {
  return at(
    componentObject(objects, "Deployment", service),
    "spec.template.spec.containers.0.env",
  ) as EnvEntry[];
}

describe.skipIf(!tools)("the chart's limits and trustProxy values", () => {
  let dir = "";
  let objects: K8sObject[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mimi-limits-"));
    const set: Record<string, Record<string, string | number>> = {};
    for (const [service, keys] of Object.entries(limits)) {
      set[service] = Object.fromEntries(Object.keys(keys).map((key) => [key, sampleValue(key)]));
    }
    const file = join(dir, "limits.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        domain: "example.test",
        existingSecret: "mimi-secrets",
        kafka: { brokers: ["kafka:9092"] },
        trustProxy: "10.0.0.0/8",
        limits: set,
      }),
    );
    const rendered = render(["-f", file]);
    objects = parseManifests(rendered);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("groups limits under services the chart deploys", () => {
    for (const service of Object.keys(limits)) expect(serviceNames).toContain(service);
  });

  it("maps every limit to one variable", () => {
    expect(Object.keys(variables).sort()).toEqual(Object.keys(limits).sort());
    for (const [service, keys] of Object.entries(limits)) {
      expect(Object.keys(variables[service] ?? {}).sort()).toEqual(Object.keys(keys).sort());
    }
  });

  it.each(serviceNames)("gives %s its own limits, as variables it reads, and no one else's", (service) => {
    const env = envOf(objects, service);
    const own = variables[service] ?? {};
    for (const [key, name] of Object.entries(own)) {
      expect(envNamesReadBy(service).has(name), `${service} reads ${name}`).toBe(true);
      expect(env).toContainEqual({ name, value: String(sampleValue(key)) });
    }
    const others = Object.entries(variables)
      .filter(([other]) => other !== service)
      .flatMap(([, keys]) => Object.values(keys));
    for (const entry of env) expect(others).not.toContain(entry.name);
  });

  it.each(serviceNames)("passes trustProxy to %s", (service) => {
    expect(envOf(objects, service)).toContainEqual({ name: "MIMI_TRUST_PROXY", value: "10.0.0.0/8" });
  });

  it("leaves the services' defaults alone when the values are null", () => {
    const rendered = render(requiredValues);
    const defaults = parseManifests(rendered);
    for (const service of serviceNames) {
      const names = envOf(defaults, service).map((entry) => entry.name);
      expect(names).not.toContain("MIMI_TRUST_PROXY");
      expect(names.filter((name) => /LIMIT|MAILBOX_MAX|SESSION_IDLE|CHANNEL_MAX/.test(name))).toEqual([]);
    }
  });

  it("documents every limit in the chart README with its variable", () => {
    for (const [service, keys] of Object.entries(limits)) {
      for (const key of Object.keys(keys)) {
        expect(readme, `limits.${service}.${key}`).toContain(`\`limits.${service}.${key}\``);
      }
    }
    expect(readme).toContain("`trustProxy`");
  });
});
