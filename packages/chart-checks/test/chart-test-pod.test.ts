import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "@mimi/testkit";
import { describe, expect, it } from "vitest";
import { at, objectsOfKind, parseManifests } from "../src/index.ts";
import { render, requiredValues, tools } from "./helm.ts";

const annotations = (pod: unknown) => (at(pod, "metadata.annotations") ?? {}) as Record<string, string>;

function testPods(): unknown[] {
  return objectsOfKind(parseManifests(render(requiredValues)), "Pod").filter(
    (pod) => annotations(pod)["helm.sh/hook"] === "test",
  );
}

/** An identity stand-in answering the three requests of the test pod as identity does. */
function identityStandIn(domain: string): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://identity");
    if (url.pathname === "/.well-known/mimi-configuration") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ domain }));
    } else if (url.pathname === "/.well-known/webfinger") {
      res.writeHead(url.searchParams.has("resource") ? 404 : 400).end();
    } else {
      res.writeHead(404).end();
    }
  });
}

/** Runs the test pod's container command here, with its environment pointed at `identityUrl`. */
async function runTestPod(identityUrl: string): Promise<{ code: number | null; output: string }> {
  const [pod] = testPods();
  const [command, ...args] = at(pod, "spec.containers.0.args") as string[];
  const child = spawn(command === "node" ? process.execPath : String(command), args, {
    env: { PATH: process.env.PATH ?? "", IDENTITY_URL: identityUrl, MIMI_DOMAIN: "example.test" },
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

describe.skipIf(!tools)("the chart's helm test pod", () => {
  it("outlives its success, so `helm test --logs` can read its log", () => {
    const pods = testPods();
    expect(pods).toHaveLength(1);
    const policy = annotations(pods[0])["helm.sh/hook-delete-policy"] ?? "";
    expect(policy.split(",")).toContain("before-hook-creation");
    expect(policy.split(",")).not.toContain("hook-succeeded");
  });

  it("tries a Service it cannot connect to yet again, as a policy engine may admit a new pod late", async () => {
    const port = await freePort();
    const server = identityStandIn("example.test");
    // Nothing listens for the first 2.5 s: the pod's first connections are refused.
    const listening = new Promise<void>((resolve) =>
      setTimeout(() => server.listen(port, "127.0.0.1", resolve), 2_500),
    );
    try {
      const result = await runTestPod(`http://127.0.0.1:${port}`);
      expect(result.output).toContain("ECONNREFUSED, trying again");
      expect(result.output).toContain("/.well-known/mimi-configuration: 200");
      expect(result.code, result.output).toBe(0);
    } finally {
      await listening;
      server.close();
    }
  }, 30_000);

  it("fails on a wrong answer at once, without trying again", async () => {
    const server = createServer((_req, res) => res.writeHead(500).end("broken"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const result = await runTestPod(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect(result.code).toBe(1);
      expect(result.output).toContain("expected 400, got 500");
      expect(result.output).not.toContain("trying again");
    } finally {
      server.close();
    }
  });
});
