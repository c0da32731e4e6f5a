// Readiness probe for the local Kafka broker that needs no npm packages: it sends an
// ApiVersions (v0) request over TCP and succeeds when the broker answers with error code 0.
// Usage: node scripts/kafka/wait-ready.mjs <host:port> [timeoutSeconds]
// Exits 0 when ready, 1 when the timeout passes first.
import net from "node:net";

const API_VERSIONS_KEY = 18;
const [hostPort = "127.0.0.1:59092", timeoutArg = "0"] = process.argv.slice(2);
const [host = "127.0.0.1", portText = "59092"] = hostPort.split(":");
const port = Number(portText);
const deadline = Date.now() + Number(timeoutArg) * 1000;

function apiVersionsRequest(correlationId) {
  const clientId = Buffer.from("mimi-infra");
  // Request header v1: api_key int16, api_version int16, correlation_id int32, client_id string; empty body.
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(API_VERSIONS_KEY, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function probeOnce() {
  return new Promise((resolve) => {
    const correlationId = 4242;
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("connect", () => socket.write(apiVersionsRequest(correlationId)));
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      // Response: size int32, correlation_id int32, error_code int16, ...
      if (received.length < 10) return;
      finish(received.readInt32BE(4) === correlationId && received.readInt16BE(8) === 0);
    });
  });
}

for (;;) {
  if (await probeOnce()) process.exit(0);
  if (Date.now() >= deadline) process.exit(1);
  await new Promise((r) => setTimeout(r, 500));
}
