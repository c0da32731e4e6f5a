// A peer's inbox for the signatures scenario, on a thread of its own: a remote server does its HTTP
// work on its own machine, so none of it is charged to the deliveries measured on the main thread.
// It answers 202, notes which scheme each POST arrived signed with, reports once the `warmup`
// deliveries arrived and again once the `jobs` measured after them did.
import { createServer } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { warmup, jobs, scheme } = workerData;
let arrived = 0;
let delivered = 0;
let otherScheme = 0;
const server = createServer((req, res) => {
  const signedWith = req.headers["signature-input"] === undefined ? "cavage" : "rfc9421";
  req.resume();
  req.on("end", () => {
    res.writeHead(202).end();
    arrived += 1;
    if (signedWith !== scheme) otherScheme += 1;
    if (arrived === warmup) parentPort.postMessage({ kind: "warm" });
    if (arrived <= warmup) return;
    delivered += 1;
    if (delivered === jobs) {
      parentPort.postMessage({
        kind: "done",
        delivered,
        otherScheme,
        lastAtMs: performance.timeOrigin + performance.now(),
      });
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () =>
  parentPort.postMessage({ kind: "listening", port: server.address().port }),
);
parentPort.on("message", (message) => {
  if (message === "report")
    parentPort.postMessage({
      kind: "done",
      delivered,
      otherScheme,
      lastAtMs: performance.timeOrigin + performance.now(),
    });
  if (message === "close") server.close(() => process.exit(0));
});
