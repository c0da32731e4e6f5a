import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import type { SignatureScheme, SigningKey } from "@mimi/http-signatures";
import { type BenchEnvironment, openBenchSql, profiled, ratePerSecond } from "../src/index.js";
import { DELIVERY_MIGRATIONS, SIGNER, startDeliveryRig } from "./delivery-rig.js";

export interface Scheme {
  readonly scheme: SignatureScheme;
  readonly label: string;
  readonly key: SigningKey;
}

/** Fresh keys for both schemes: draft-cavage signs with RSA-2048, RFC 9421 with Ed25519 (RSA kept as the fallback). */
export function benchSchemes(): { schemes: [Scheme, Scheme]; publicKeys: Record<string, KeyObject> } {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ed = generateKeyPairSync("ed25519");
  const rsaKey: SigningKey = { keyId: `${SIGNER}#main-key`, privateKey: rsa.privateKey };
  const bothKeys: SigningKey = {
    ...rsaKey,
    ed25519: { keyId: `${SIGNER}#ed25519-key`, privateKey: ed.privateKey },
  };
  return {
    schemes: [
      { scheme: "cavage", label: "draft-cavage RSA-2048", key: rsaKey },
      { scheme: "rfc9421", label: "RFC 9421 Ed25519", key: bothKeys },
    ],
    publicKeys: {
      [`${SIGNER}#main-key`]: rsa.publicKey,
      [`${SIGNER}#ed25519-key`]: ed.publicKey,
    },
  };
}

export interface DeliveryRun {
  delivered: number;
  /** Deliveries that arrived signed with another scheme than the one measured (should be 0). */
  otherScheme: number;
  elapsedMs: number;
  perSecond: number;
  /** The database delivery-fanout ran on. */
  sqlKind: string;
}

/**
 * Signed deliveries per second through delivery-fanout, every origin remembered as reading `scheme`,
 * in steady state: `warmup` jobs go first and are not timed, so that the rate is not that of opening
 * 32 connections, starting the signing thread and the first look at each pair's stored backlog.
 */
export async function deliveryRate(
  environment: BenchEnvironment,
  { scheme, key }: Scheme,
  { warmup, jobs }: { warmup: number; jobs: number },
): Promise<DeliveryRun> {
  const { sql, kind: sqlKind } = await openBenchSql(environment, DELIVERY_MIGRATIONS);
  // The peer runs on a thread of its own, as a remote server would on its own machine.
  const sink = new Worker(new URL("./remote-sink.mjs", import.meta.url), {
    workerData: { warmup, jobs, scheme },
  });
  const reports = sinkReports(sink);
  const sinkPort = (await reports.listening).port;
  const rig = await startDeliveryRig(environment, { sql, sinkPort, signingKey: key, scheme });
  const messages = rig.jobs(warmup + jobs, `${environment.runId}-sig-${scheme}-`);
  const timeout = setTimeout(() => sink.postMessage("report"), 120_000);
  await rig.publish(messages.slice(0, warmup));
  if (warmup > 0) await reports.warm;
  const started = performance.timeOrigin + performance.now();
  const finished = await profiled(`signatures-${scheme}`, async () => {
    await rig.publish(messages.slice(warmup));
    return reports.done;
  });
  clearTimeout(timeout);
  await rig.close();
  await sql.close();
  sink.postMessage("close");
  await once(sink, "exit");
  const elapsedMs = finished.lastAtMs - started;
  return {
    delivered: finished.delivered,
    otherScheme: finished.otherScheme,
    elapsedMs,
    perSecond: ratePerSecond(finished.delivered, elapsedMs),
    sqlKind,
  };
}

interface SinkDone {
  delivered: number;
  otherScheme: number;
  /** When the last delivery arrived, in ms since the epoch (threads share no `performance.now()`). */
  lastAtMs: number;
}

interface SinkReports {
  listening: Promise<{ port: number }>;
  warm: Promise<void>;
  done: Promise<SinkDone>;
}

/** The sink thread's reports: its port once listening, the warm-up's end, its counts once every job arrived. */
function sinkReports(sink: Worker): SinkReports {
  let listening: (value: { port: number }) => void = () => {};
  let warm: () => void = () => {};
  let done: (value: SinkDone) => void = () => {};
  const result = {
    listening: new Promise<{ port: number }>((resolve) => {
      listening = resolve;
    }),
    warm: new Promise<void>((resolve) => {
      warm = resolve;
    }),
    done: new Promise<SinkDone>((resolve) => {
      done = resolve;
    }),
  };
  sink.on("message", (message: { kind: string } & Partial<SinkDone> & { port?: number }) => {
    if (message.kind === "listening" && message.port !== undefined) listening({ port: message.port });
    if (message.kind === "warm") warm();
    if (message.kind === "done")
      done({
        delivered: message.delivered ?? 0,
        otherScheme: message.otherScheme ?? 0,
        lastAtMs: message.lastAtMs ?? 0,
      });
  });
  return result;
}
