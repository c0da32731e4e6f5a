import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";
import { connectToLocal, FAST_DELIVERY_ENV, freePort, providerEnv, runE2eSuite } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { type CheckedRequest, FedifyVerifier, VerifyingFront } from "./support/verifying-front.js";

const DOMAINS = ["a.test", "b.test", "c.test"] as const;
/** The end-to-end suite runs its hostile provider as evil.test; our providers reach it too. */
const HOSTILE = "evil.test";

/** Requests a server may send unsigned: discovery (WebFinger, NodeInfo, the MIMI configuration). */
const PUBLIC_GET = /^\/(\.well-known\/|nodeinfo\/)/;

/**
 * The whole end-to-end suite (services/standalone/test/e2e, as the split and chart suites run it) on
 * three standalone providers in this process, with Fedify checking every request a provider sends to
 * another host: each provider's host mapping sends every other host (the two other providers and the
 * suite's hostile evil.test) to a front of its own, one per sender and receiver, which has the request
 * verified by Fedify's `verifyRequestDetailed` (keys fetched from our actor documents by Fedify's
 * document loader) before passing it on unchanged. Because a front carries one sender's requests only,
 * a verified key must also belong to an actor of that sender.
 */
describe.skipIf(!fedifyRuns)(
  `Fedify verifies every request of the end-to-end suite (${NEEDS_NODE_22})`,
  () => {
    const state = mkdtempSync(join(tmpdir(), "mimi-fedify-e2e-"));
    const verifier = new FedifyVerifier();
    const fronts: VerifyingFront[] = [];
    const providers = new Map<string, RunningProvider>();
    const ports = new Map<string, number>();
    const postLogs: Record<string, string> = {};
    let hostilePort = 0;
    let restoreFetch: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      hostilePort = await freePort();
      for (const domain of DOMAINS) {
        ports.set(domain, await freePort());
        postLogs[domain] = join(state, `${domain}.posts.log`);
        writeFileSync(postLogs[domain], "");
      }
      for (const sender of DOMAINS) {
        for (const receiver of [...DOMAINS.filter((domain) => domain !== sender), HOSTILE]) {
          const front = new VerifyingFront(sender, receiver, verifier, postLogs[receiver]);
          front.targetPort = ports.get(receiver) ?? hostilePort;
          await front.listen();
          fronts.push(front);
        }
      }
      // Fedify's document loader (the global fetch) reaches our providers directly.
      restoreFetch = routeFetchToLocalPorts(ports);
      for (const domain of DOMAINS) {
        const port = ports.get(domain) ?? 0;
        const ownFronts = fronts.filter((front) => front.sender === domain);
        const connectTo = connectToLocal([
          [domain, port],
          ...ownFronts.map((front) => [front.receiver, front.port] as const),
        ]);
        const provider = await startProvider({
          host: "127.0.0.1",
          env: {
            ...providerEnv({ domain, port, dataDir: join(state, domain), connectTo }),
            ...FAST_DELIVERY_ENV,
          },
        });
        providers.set(domain, provider);
      }
    }, 240_000);

    afterAll(async () => {
      for (const provider of providers.values()) await provider.close();
      for (const front of fronts) await front.close();
      await restoreFetch?.();
      rmSync(state, { recursive: true, force: true });
    }, 60_000);

    it("runs services/standalone/test/e2e green through the verifying fronts", async () => {
      const started = Date.now();
      const { code, output } = await runE2eSuite({
        // Clients reach the providers (and check other domains' credentials) directly.
        connectTo: connectToLocal([...ports, [HOSTILE, hostilePort]]),
        servers: Object.fromEntries([...ports].map(([domain, port]) => [domain, `http://127.0.0.1:${port}`])),
        postLogs,
        hostilePort,
      });
      if (code !== 0) process.stderr.write(output);
      expect(code).toBe(0);
      // Every test ran: none was skipped for lack of a hostile provider or POST counts.
      const summary = /Tests\s+(\d+) passed \((\d+)\)/.exec(output);
      expect(summary).not.toBeNull();
      expect(summary?.[1]).toBe(summary?.[2]);
      process.stdout.write(
        `end-to-end suite: ${summary?.[1]} tests in ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
    }, 600_000);

    it("every signed request a provider sent verified with Fedify, as one of that provider's actors", () => {
      const all: CheckedRequest[] = fronts.flatMap((front) => front.checked);
      const line = (r: CheckedRequest) => `${r.scheme} ${r.method} ${r.sender} -> ${r.receiver}${r.path}`;
      const signed = all.filter((r) => r.scheme !== "unsigned");
      const failed = signed
        .filter((r) => !r.verdict?.verified)
        .map((r) => `${line(r)}: ${JSON.stringify(r.verdict)}`);
      expect(failed).toEqual([]);
      const strangers = signed
        .filter((r) => r.verdict?.verified && new URL(r.verdict.owner).host !== r.sender)
        .map((r) => `${line(r)} signed by ${r.verdict?.verified ? r.verdict.owner : ""}`);
      expect(strangers).toEqual([]);
      // Unsigned: only public discovery GETs.
      const unsigned = all.filter((r) => r.scheme === "unsigned");
      expect(unsigned.filter((r) => r.method !== "GET" || !PUBLIC_GET.test(r.path)).map(line)).toEqual([]);

      const count = (scheme: CheckedRequest["scheme"], method?: string) =>
        all.filter((r) => r.scheme === scheme && (method === undefined || r.method === method)).length;
      const counts = {
        signed: signed.length,
        rfc9421: count("rfc9421"),
        cavage: count("cavage"),
        signedPosts: signed.filter((r) => r.method === "POST").length,
        unsigned: unsigned.length,
        toHostile: all.filter((r) => r.receiver === HOSTILE).length,
      };
      process.stdout.write(`Fedify verified ${JSON.stringify(counts)}\n`);
      // The suite exercised both schemes and real deliveries, so the checks above were not vacuous.
      expect(counts.rfc9421).toBeGreaterThan(0);
      expect(counts.cavage).toBeGreaterThan(0);
      expect(counts.signedPosts).toBeGreaterThan(50);
    });
  },
);
