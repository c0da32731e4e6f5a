#!/usr/bin/env node
/**
 * `node docker/otlp-sink.mjs <spans file>`: a minimal OTLP/HTTP JSON trace receiver for
 * scripts/docker-context. Listens on a free 127.0.0.1 port (printed as the first line of stdout) and
 * appends one line per received span to the file: `<service.name> <instrumentation scope> <span name>`.
 * Runs until killed.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";

const [spansFile] = process.argv.slice(2);
if (!spansFile) {
  process.stderr.write("usage: otlp-sink.mjs <spans file>\n");
  process.exit(2);
}
writeFileSync(spansFile, "");

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    let lines = "";
    try {
      const document = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const resourceSpans of document.resourceSpans ?? []) {
        const service = (resourceSpans.resource?.attributes ?? []).find((a) => a.key === "service.name")
          ?.value?.stringValue;
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? [])
            lines += `${service} ${scopeSpans.scope?.name} ${span.name}\n`;
        }
      }
    } catch {
      response.writeHead(400).end();
      return;
    }
    appendFileSync(spansFile, lines);
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
