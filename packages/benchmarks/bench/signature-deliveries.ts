/**
 * One delivery measurement of the signatures scenario, in a process of its own: delivery-fanout runs
 * alone in a deployment, so its event loop should not carry the heap and warmed-up code paths of the
 * scenarios that ran before. Started by `signatures.ts` with the scheme, warm-up and job counts as
 * its argument; sends back one `DeliveryRun`.
 */
import type { SignatureScheme } from "@mimi/http-signatures";
import { readBenchEnvironment } from "../src/index.js";
import { benchSchemes, deliveryRate } from "./signature-load.js";

interface DeliveryRequest {
  scheme: SignatureScheme;
  warmup: number;
  jobs: number;
}

const request = JSON.parse(process.argv[2] ?? "{}") as DeliveryRequest;
const chosen = benchSchemes().schemes.find((entry) => entry.scheme === request.scheme);
if (chosen === undefined || process.send === undefined) {
  console.error(`signature-deliveries: no such scheme or no parent to report to: ${process.argv[2]}`);
  process.exit(2);
}
const run = await deliveryRate(readBenchEnvironment(), chosen, request);
process.send(run, () => process.exit(0));
