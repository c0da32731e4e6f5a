import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { type ConnectTarget, parseConnectTarget, parseConnectTo } from "@mimi/outbound-http";

/**
 * Development host mapping (MIMI_DEV_CONNECT_TO, like curl's `--connect-to`) for the client's own
 * requests: a request for `http://a.test/x` connects to the mapped `host:port` while its URL, `Host`
 * header and TLS server name stay `a.test`. Hosts that are not mapped go to `base` unchanged. The
 * home server's API and its mimi-configuration are reached this way, as other domains'
 * configurations are (through @mimi/outbound-http).
 */
export function fetchWithConnectTo(
  base: typeof fetch,
  connectTo: string | ReadonlyMap<string, string> | undefined,
): typeof fetch {
  const targets = connectTargets(connectTo);
  if (targets.size === 0) return base;
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const target = targets.get(url.hostname.toLowerCase());
    if (!target) return base(input, init);
    return send(request, url, target);
  };
}

function connectTargets(connectTo: string | ReadonlyMap<string, string> | undefined) {
  const mapping = typeof connectTo === "string" ? parseConnectTo(connectTo) : (connectTo ?? new Map());
  const targets = new Map<string, ConnectTarget>();
  for (const [host, text] of mapping) {
    const target = parseConnectTarget(text);
    if (typeof target === "string") throw new Error(`connectTo: ${target}`);
    targets.set(host.toLowerCase(), target);
  }
  return targets;
}

/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

async function send(request: Request, url: URL, target: ConnectTarget): Promise<Response> {
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const headers: OutgoingHttpHeaders = Object.fromEntries(request.headers);
  headers.host = url.host;
  const options = {
    host: target.host,
    port: target.port,
    method: request.method,
    path: `${url.pathname}${url.search}`,
    headers,
    servername: url.hostname,
    signal: request.signal,
  };
  return new Promise<Response>((resolve, reject) => {
    const answered = (incoming: IncomingMessage) => {
      const status = incoming.statusCode ?? 502;
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (Array.isArray(value)) for (const each of value) responseHeaders.append(name, each);
        else if (value !== undefined) responseHeaders.set(name, value);
      }
      const empty = NULL_BODY_STATUSES.has(status) || request.method === "HEAD";
      if (empty) incoming.resume();
      resolve(
        new Response(empty ? null : streamOf(incoming), {
          status,
          statusText: incoming.statusMessage ?? "",
          headers: responseHeaders,
        }),
      );
    };
    const outgoing =
      url.protocol === "https:" ? httpsRequest(options, answered) : httpRequest(options, answered);
    // As fetch does: a failure to connect is a TypeError whose cause says why.
    outgoing.on("error", (error) =>
      reject(request.signal.aborted ? error : new TypeError("fetch failed", { cause: error })),
    );
    outgoing.end(body);
  });
}

/** The response body as a web stream, read as the consumer asks for it (an event stream never ends). */
function streamOf(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  const chunks = incoming[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(new Uint8Array(next.value as Buffer));
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      incoming.destroy();
    },
  });
}
