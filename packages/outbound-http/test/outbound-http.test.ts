import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOutboundHttp, type OutboundHttp } from "../src/index.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** Every request that reached the handler. */
  readonly seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  connections: number;
  handler: Handler;
}

async function startServer(): Promise<TestServer> {
  const state: Omit<TestServer, "port"> & { port: number } = {
    server: createServer(),
    port: 0,
    seen: [],
    connections: 0,
    handler: (_request, response) => response.end("ok"),
  };
  state.server.on("connection", () => {
    state.connections += 1;
  });
  state.server.on("request", (request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      state.seen.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      state.handler(request, response);
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

let primary: TestServer;
let secondary: TestServer;
const clients: OutboundHttp[] = [];

function client(options: Parameters<typeof createOutboundHttp>[0]): OutboundHttp {
  const created = createOutboundHttp(options);
  clients.push(created);
  return created;
}

function devClient(extra: Partial<Parameters<typeof createOutboundHttp>[0]> = {}): OutboundHttp {
  return client({
    production: false,
    connectTo: new Map([
      ["a.test", `127.0.0.1:${primary.port}`],
      ["b.test", `127.0.0.1:${secondary.port}`],
    ]),
    ...extra,
  });
}

beforeAll(async () => {
  primary = await startServer();
  secondary = await startServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((created) => created.close()));
  for (const server of [primary, secondary]) {
    server.seen.length = 0;
    server.connections = 0;
    server.handler = (_request, response) => response.end("ok");
  }
});

afterAll(async () => {
  for (const server of [primary, secondary]) {
    server.server.closeAllConnections();
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
  }
});

describe("createOutboundHttp", () => {
  it("refuses connectTo in production", () => {
    expect(() =>
      createOutboundHttp({ production: true, connectTo: new Map([["a.test", "127.0.0.1:1"]]) }),
    ).toThrow(/development-only/);
  });

  it("accepts an empty connectTo in production", async () => {
    const created = createOutboundHttp({ production: true, connectTo: new Map() });
    await created.close();
  });
});

describe("development mode", () => {
  it("fetches from a literal loopback address and reports the status as is", async () => {
    primary.handler = (_request, response) => {
      response.statusCode = 500;
      response.setHeader("x-thing", "yes");
      response.end("broken");
    };
    const result = await devClient().request(`http://127.0.0.1:${primary.port}/status`, {
      method: "GET",
      headers: {},
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.status).toBe(500);
    expect(result.headers["x-thing"]).toBe("yes");
    expect(new TextDecoder().decode(result.body)).toBe("broken");
  });

  it("skips an informational answer and reports the final one, its body in several chunks", async () => {
    primary.handler = (_request, response) => {
      response.writeEarlyHints({ link: "</style.css>; rel=preload" });
      response.writeHead(201, { "x-final": "yes" });
      response.write("first ");
      setTimeout(() => response.end("second"), 20);
    };
    const result = await devClient().request("http://a.test/hints", { method: "GET", headers: {} });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.status).toBe(201);
    expect(result.headers["x-final"]).toBe("yes");
    expect(new TextDecoder().decode(result.body)).toBe("first second");
  });

  it("maps a host with connectTo while keeping the Host header and URL", async () => {
    const result = await devClient().request("http://a.test/inbox?x=1", {
      method: "POST",
      headers: { "content-type": "application/activity+json", Host: "ignored.example" },
      body: '{"a":1}',
    });
    expect(result.ok && result.url).toBe("http://a.test/inbox?x=1");
    expect(primary.seen).toHaveLength(1);
    expect(primary.seen[0]).toMatchObject({ method: "POST", url: "/inbox?x=1", body: '{"a":1}' });
    expect(primary.seen[0]?.headers.host).toBe("a.test");
    expect(primary.seen[0]?.headers["content-type"]).toBe("application/activity+json");
    expect(primary.seen[0]?.headers["user-agent"]).toMatch(/mimi-provider/);
  });

  it("uses the configured user agent unless the caller sets one", async () => {
    const http = devClient({ userAgent: "custom/1" });
    await http.request("http://a.test/", { method: "GET", headers: {} });
    await http.request("http://a.test/", { method: "GET", headers: { "User-Agent": "caller/2" } });
    expect(primary.seen.map((entry) => entry.headers["user-agent"])).toEqual(["custom/1", "caller/2"]);
  });

  it.each([
    "ftp://a.test/file",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "not a url",
    "http://user:pw@a.test/",
  ])("refuses %s as badUrl", async (url) => {
    const result = await devClient().request(url, { method: "GET", headers: {} });
    expect(result).toMatchObject({ ok: false, reason: "badUrl" });
  });
});

describe("production address policy", () => {
  const blockedUrls = (port: number) => [
    `http://localhost:${port}/`,
    `http://127.0.0.1:${port}/`,
    `http://[::1]:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://2130706433:${port}/`,
  ];

  it("refuses loopback targets, by name or literal, before any request reaches the server", async () => {
    const http = client({ production: true });
    for (const url of blockedUrls(primary.port)) {
      const result = await http.request(url, { method: "GET", headers: {} });
      expect(result, url).toMatchObject({ ok: false, reason: "blockedAddress" });
    }
    expect(primary.seen).toHaveLength(0);
    expect(primary.connections).toBe(0);
  });

  it("names the resolved addresses when a hostname is refused", async () => {
    const result = await client({ production: true }).request(`http://localhost:${primary.port}/`, {
      method: "GET",
      headers: {},
    });
    expect(result.ok === false && result.detail).toMatch(
      /localhost resolves only to non-public addresses: .*loopback/,
    );
  });

  it("refuses a literal private address without a connection attempt", async () => {
    const result = await client({ production: true }).request("http://10.0.0.1/", {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "blockedAddress", detail: "10.0.0.1 is private" });
  });

  it("fetchJson reports the refusal too", async () => {
    const result = await client({ production: true }).fetchJson(`http://localhost:${primary.port}/`, {});
    expect(result).toMatchObject({ ok: false, reason: "blockedAddress" });
  });
});

describe("limits", () => {
  it("times out when the server never answers", async () => {
    primary.handler = () => {};
    const started = Date.now();
    const result = await devClient({ totalTimeoutMs: 300 }).request("http://a.test/slow", {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("times out when the body stalls after the headers", async () => {
    primary.handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("partial");
    };
    const result = await devClient({ totalTimeoutMs: 300 }).request("http://a.test/stall", {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "timeout" });
  });

  it("aborts a streamed body that passes the cap", async () => {
    let written = 0;
    primary.handler = (_request, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(16 * 1024, 1);
      const pump = () => {
        while (written < 8 * 1024 * 1024) {
          written += chunk.length;
          if (!response.write(chunk)) {
            response.once("drain", pump);
            return;
          }
        }
        response.end();
      };
      response.on("close", () => response.destroy());
      pump();
    };
    const result = await devClient({ maxResponseBytes: 64 * 1024 }).request("http://a.test/big", {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "tooLarge" });
    // The download stopped early instead of reading all 8 MiB.
    expect(written).toBeLessThan(8 * 1024 * 1024);
  });

  it("refuses a declared length over the cap", async () => {
    primary.handler = (_request, response) => {
      response.setHeader("content-length", String(2048));
      response.end(Buffer.alloc(2048));
    };
    const result = await devClient({ maxResponseBytes: 1024 }).request("http://a.test/big", {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "tooLarge" });
  });

  it("accepts a body of exactly the cap", async () => {
    primary.handler = (_request, response) => response.end(Buffer.alloc(1024, 7));
    const result = await devClient({ maxResponseBytes: 1024 }).request("http://a.test/exact", {
      method: "GET",
      headers: {},
    });
    expect(result.ok && result.body.byteLength).toBe(1024);
  });
});

describe("redirects", () => {
  function redirectChain(length: number): void {
    primary.handler = (request, response) => {
      const step = Number(new URL(request.url ?? "/", "http://a.test").searchParams.get("step") ?? "0");
      if (step < length) {
        response.writeHead(302, { location: `/hop?step=${step + 1}` });
        response.end();
        return;
      }
      response.end(`arrived after ${step}`);
    };
  }

  it("follows up to the limit and reports the final URL", async () => {
    redirectChain(3);
    const result = await devClient().request("http://a.test/hop?step=0", { method: "GET", headers: {} });
    expect(result.ok && result.url).toBe("http://a.test/hop?step=3");
    expect(result.ok && new TextDecoder().decode(result.body)).toBe("arrived after 3");
  });

  it("stops after too many redirects", async () => {
    redirectChain(4);
    const result = await devClient().request("http://a.test/hop?step=0", { method: "GET", headers: {} });
    expect(result).toMatchObject({ ok: false, reason: "tooManyRedirects" });
    expect(primary.seen).toHaveLength(4);
  });

  it("honours a smaller maxRedirects", async () => {
    redirectChain(1);
    const result = await devClient({ maxRedirects: 0 }).request("http://a.test/hop?step=0", {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "tooManyRedirects" });
  });

  it("re-checks every hop: a redirect to another scheme is refused", async () => {
    primary.handler = (_request, response) => {
      response.writeHead(301, { location: "file:///etc/passwd" });
      response.end();
    };
    const result = await devClient().request("http://a.test/", { method: "GET", headers: {} });
    expect(result).toMatchObject({ ok: false, reason: "badUrl" });
  });

  it("turns a POST into a GET on 303 and drops the body headers", async () => {
    primary.handler = (request, response) => {
      if (request.method === "POST") {
        response.writeHead(303, { location: "/done" });
        response.end();
        return;
      }
      response.end("done");
    };
    const result = await devClient().request("http://a.test/form", {
      method: "POST",
      headers: { "content-type": "application/json", digest: "SHA-256=x" },
      body: "{}",
    });
    expect(result.ok && result.status).toBe(200);
    expect(primary.seen[1]).toMatchObject({ method: "GET", url: "/done", body: "" });
    expect(primary.seen[1]?.headers["content-type"]).toBeUndefined();
    expect(primary.seen[1]?.headers.digest).toBeUndefined();
  });

  it("drops credentials on a cross-origin hop", async () => {
    primary.handler = (_request, response) => {
      response.writeHead(302, { location: "http://b.test/elsewhere" });
      response.end();
    };
    const result = await devClient().request("http://a.test/start", {
      method: "GET",
      headers: { signature: "keyId=...", accept: "application/activity+json" },
    });
    expect(result.ok && result.url).toBe("http://b.test/elsewhere");
    expect(secondary.seen[0]?.headers.host).toBe("b.test");
    expect(secondary.seen[0]?.headers.signature).toBeUndefined();
    expect(secondary.seen[0]?.headers.accept).toBe("application/activity+json");
  });

  it("asks headersForRedirect for each later hop", async () => {
    primary.handler = (_request, response) => {
      response.writeHead(302, { location: "http://b.test/elsewhere" });
      response.end();
    };
    const hops: string[] = [];
    await devClient().request("http://a.test/start", {
      method: "GET",
      headers: { signature: "first" },
      headersForRedirect: (url) => {
        hops.push(url);
        return { signature: `for ${url}` };
      },
    });
    expect(hops).toEqual(["http://b.test/elsewhere"]);
    expect(primary.seen[0]?.headers.signature).toBe("first");
    expect(secondary.seen[0]?.headers.signature).toBe("for http://b.test/elsewhere");
  });
});

describe("fetchJson", () => {
  it("parses a JSON document", async () => {
    primary.handler = (_request, response) => {
      response.setHeader("content-type", "application/activity+json");
      response.end('{"id":"http://a.test/actor"}');
    };
    const result = await devClient().fetchJson("http://a.test/actor", {
      accept: "application/activity+json",
    });
    expect(result).toEqual({
      ok: true,
      status: 200,
      value: { id: "http://a.test/actor" },
      url: "http://a.test/actor",
    });
    expect(primary.seen[0]?.headers.accept).toBe("application/activity+json");
  });

  it("reports a non-2xx status", async () => {
    primary.handler = (_request, response) => {
      response.statusCode = 410;
      response.end("{}");
    };
    const result = await devClient().fetchJson("http://a.test/gone", {});
    expect(result).toMatchObject({ ok: false, reason: "httpStatus", status: 410 });
  });

  it("reports a body that is not JSON", async () => {
    primary.handler = (_request, response) => response.end("<html>");
    const result = await devClient().fetchJson("http://a.test/html", {});
    expect(result).toMatchObject({ ok: false, reason: "badJson" });
  });
});

describe("connection errors", () => {
  it("reports a refused connection", async () => {
    const closed = await startServer();
    const port = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const result = await client({ production: false }).request(`http://127.0.0.1:${port}/`, {
      method: "GET",
      headers: {},
    });
    expect(result).toMatchObject({ ok: false, reason: "connectError" });
    expect(result.ok === false && result.detail).toMatch(/ECONNREFUSED/);
  });

  // Each of these would surface as an unhandled 'error' (failing the run) if a socket or body stream
  // were left without a listener.
  it("reports a connection the server resets before answering", async () => {
    primary.handler = (request) => request.socket.resetAndDestroy();
    const result = await devClient().request("http://a.test/reset", { method: "GET", headers: {} });
    expect(result).toMatchObject({ ok: false, reason: "connectError" });
  });

  it("reports a connection the server closes before answering", async () => {
    primary.handler = (request) => request.socket.destroy();
    const result = await devClient().fetchJson("http://a.test/closed", {});
    expect(result).toMatchObject({ ok: false, reason: "connectError" });
  });

  it("reports a body cut off by a reset after the headers", async () => {
    primary.handler = (request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      response.write('{"partial": "');
      setTimeout(() => request.socket.resetAndDestroy(), 20);
    };
    const result = await devClient().request("http://a.test/cut", { method: "GET", headers: {} });
    expect(result).toMatchObject({ ok: false, reason: "connectError" });
  });

  it("reports a reset while a POST body is still being sent", async () => {
    const uploads = await startServer();
    // Reset as soon as the request line arrives, long before the body is read.
    uploads.server.removeAllListeners("request");
    uploads.server.on("request", (request) => request.socket.resetAndDestroy());
    try {
      const result = await client({ production: false }).request(`http://127.0.0.1:${uploads.port}/up`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(8 * 1024 * 1024),
      });
      expect(result).toMatchObject({ ok: false, reason: "connectError" });
    } finally {
      uploads.server.closeAllConnections();
      await new Promise<void>((resolve) => uploads.server.close(() => resolve()));
    }
  });

  it("serves the next request after the server reset a kept-alive connection", async () => {
    const http = devClient();
    expect(await http.request("http://a.test/first", { method: "GET", headers: {} })).toMatchObject({
      ok: true,
      status: 200,
    });
    primary.handler = (request) => request.socket.resetAndDestroy();
    expect(await http.request("http://a.test/reset", { method: "GET", headers: {} })).toMatchObject({
      ok: false,
    });
    primary.handler = (_request, response) => response.end("again");
    const again = await http.request("http://a.test/again", { method: "GET", headers: {} });
    expect(again).toMatchObject({ ok: true, status: 200 });
  });
});
