import { fork } from "node:child_process";
import { once } from "node:events";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { type KeyResolver, type SignatureScheme, signRequest, verifyRequest } from "@mimi/http-signatures";
import { type Metric, ratePerSecond, type Scenario } from "../src/index.js";
import { BODY, ORIGINS, SIGNER } from "./delivery-rig.js";
import { numberSetting } from "./settings.js";
import { benchSchemes, type DeliveryRun, type Scheme } from "./signature-load.js";

/** How long each signing or verifying rate is measured. */
const MEASURE_MS = 1500;

/**
 * The two signature schemes side by side: whole-request signatures per second (headers, digest and
 * the private-key operation, one core, as `signRequest` makes them) with RFC 9421/Ed25519 and with
 * draft-cavage/RSA-2048, their verification rates with a cached key, and signed deliveries per second
 * through delivery-fanout with each scheme in the same run.
 */
export const signaturesScenario: Scenario = {
  name: "signatures",
  async run() {
    const jobs = numberSetting("BENCH_SIGNATURES_DELIVERIES", 8000);
    const warmup = numberSetting("BENCH_SIGNATURES_WARMUP", 2000);
    const { schemes, publicKeys } = benchSchemes();
    const resolver: KeyResolver = {
      async resolve(keyId) {
        const publicKey = publicKeys[keyId];
        if (publicKey === undefined) return { ok: false, reason: "keyFetchError", detail: `no ${keyId}` };
        return { ok: true, key: { keyId, owner: SIGNER, publicKey }, fromCache: true };
      },
    };

    const signing = schemes.map((entry) => signRate(entry));
    const verifying = [];
    for (const entry of schemes) verifying.push(await verifyRate(entry, resolver));
    // Each in a fresh process, one after the other, as delivery-fanout runs in a deployment.
    const delivering = [];
    for (const entry of schemes)
      delivering.push(await deliveryRateInFreshProcess(entry.scheme, { warmup, jobs }));
    const sqlKind = delivering[0]?.sqlKind ?? "";
    const [cavageSigns, rfc9421Signs] = signing as [number, number];
    const [cavageVerifies, rfc9421Verifies] = verifying as [number, number];
    const [cavageDeliveries, rfc9421Deliveries] = delivering as [DeliveryRun, DeliveryRun];
    const metrics: Metric[] = [
      {
        scenario: "2b signatures",
        name: "signed requests/s, RFC 9421 Ed25519",
        value: rfc9421Signs,
        unit: "/s",
        reference: { name: "draft-cavage RSA-2048 signed requests/s", value: cavageSigns },
        target: { kind: "atLeast", bound: 3, ofReference: true },
      },
      {
        scenario: "2b signatures",
        name: "signed requests/s, draft-cavage RSA-2048",
        value: cavageSigns,
        unit: "/s",
      },
      {
        scenario: "2b signatures",
        name: "verified requests/s, RFC 9421 Ed25519",
        value: rfc9421Verifies,
        unit: "/s",
        reference: { name: "draft-cavage RSA-2048 verified requests/s", value: cavageVerifies },
      },
      {
        scenario: "2b signatures",
        name: "verified requests/s, draft-cavage RSA-2048",
        value: cavageVerifies,
        unit: "/s",
      },
      {
        scenario: "2b signatures",
        name: "signed deliveries/s, RFC 9421 Ed25519",
        value: rfc9421Deliveries.perSecond,
        unit: "/s",
        reference: { name: "draft-cavage RSA-2048 deliveries/s", value: cavageDeliveries.perSecond },
        target: { kind: "atLeast", bound: 3, ofReference: true },
      },
      {
        scenario: "2b signatures",
        name: "signed deliveries/s, draft-cavage RSA-2048",
        value: cavageDeliveries.perSecond,
        unit: "/s",
      },
    ];
    return {
      metrics,
      notes: [
        `signing and verifying: one core, ${MEASURE_MS} ms per figure, a delivery-sized POST (${BODY.length} bytes), the key cached`,
        `deliveries: delivery-fanout's send consumer on ${sqlKind}, ${jobs} jobs per scheme over ${ORIGINS} origins remembered as reading that scheme, timed after ${warmup} warm-up jobs (connections open, signing thread started, pairs known), each scheme in a fresh process; the sink, on a thread of its own as a remote server would be, answers 202 and checks only which scheme arrived`,
      ],
      details: {
        signsPerSecond: { cavage: cavageSigns, rfc9421: rfc9421Signs },
        verifiesPerSecond: { cavage: cavageVerifies, rfc9421: rfc9421Verifies },
        deliveries: { cavage: cavageDeliveries, rfc9421: rfc9421Deliveries },
      },
    };
  },
};

function request() {
  return {
    method: "POST",
    url: "http://sink0.test/inbox",
    headers: { "content-type": ACTIVITY_JSON },
    body: BODY,
  };
}

/** Whole signed requests per second (`signRequest`: headers, digest, signature), on this thread. */
function signRate({ scheme, key }: Scheme): number {
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS) {
    signRequest(request(), key, { scheme });
    count += 1;
  }
  return ratePerSecond(count, performance.now() - started);
}

/** `verifyRequest` runs per second over one signed request, the key cached (no fetch). */
async function verifyRate({ scheme, key }: Scheme, keys: KeyResolver): Promise<number> {
  const headers = signRequest(request(), key, { scheme });
  const received = { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode(BODY) };
  const check = await verifyRequest(received, keys, { scheme: "http" });
  if (!check.ok) throw new Error(`the ${scheme} request does not verify: ${check.reason} ${check.detail}`);
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS) {
    await verifyRequest(received, keys, { scheme: "http" });
    count += 1;
  }
  return ratePerSecond(count, performance.now() - started);
}

/** Runs `signature-deliveries.ts` in a child process (with this process's loader flags) for one scheme. */
async function deliveryRateInFreshProcess(
  scheme: SignatureScheme,
  sizes: { warmup: number; jobs: number },
): Promise<DeliveryRun> {
  const child = fork(
    new URL("./signature-deliveries.ts", import.meta.url),
    [JSON.stringify({ scheme, ...sizes })],
    { execArgv: process.execArgv },
  );
  let run: DeliveryRun | undefined;
  child.on("message", (message) => {
    run = message as DeliveryRun;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (run === undefined)
    throw new Error(`the ${scheme} delivery measurement exited with ${code} and no result`);
  return run;
}
