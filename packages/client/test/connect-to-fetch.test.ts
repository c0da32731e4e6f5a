import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderApi } from "../src/api.js";
import { fetchWithConnectTo } from "../src/connect-to-fetch.js";

/** A local server standing for `http://a.test`: it echoes what reached it, or streams until closed. */
let server: Server;
let port = 0;
const seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (req.url === "/stream") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      return; // never ends by itself, like the mailbox stream
    }
    if (req.url === "/empty") {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "x-multi": ["a", "b"] });
    res.end(JSON.stringify({ host: req.headers.host, url: req.url, method: req.method, body }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const unreachableBase: typeof fetch = async (input) => {
  throw new TypeError("fetch failed", { cause: new Error(`getaddrinfo ENOTFOUND ${String(input)}`) });
};

describe("fetchWithConnectTo", () => {
  it("sends a mapped name to its local address, keeping the URL and the Host header", async () => {
    const fetcher = fetchWithConnectTo(unreachableBase, `a.test=127.0.0.1:${port}`);
    const response = await fetcher("http://a.test/api/v1/me?x=1", {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-multi")).toBe("a, b");
    expect(await response.json()).toEqual({
      host: "a.test",
      url: "/api/v1/me?x=1",
      method: "POST",
      body: '{"hello":"world"}',
    });
    expect(seen.at(-1)?.headers.authorization).toBe("Bearer t");
  });

  it("leaves names it does not map to the base fetch", async () => {
    const fetcher = fetchWithConnectTo(unreachableBase, new Map([["a.test", `127.0.0.1:${port}`]]));
    await expect(fetcher("http://b.test/")).rejects.toThrow(/fetch failed/);
    expect(fetchWithConnectTo(unreachableBase, undefined)).toBe(unreachableBase);
  });

  it("streams a body that does not end, and stops when aborted", async () => {
    const fetcher = fetchWithConnectTo(unreachableBase, `a.test=127.0.0.1:${port}`);
    const abort = new AbortController();
    const response = await fetcher("http://a.test/stream", { signal: abort.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n");
    abort.abort();
    await expect(reader.read()).rejects.toThrow();
  });

  it("answers a status without a body, and says why a refused connection failed", async () => {
    const fetcher = fetchWithConnectTo(unreachableBase, `a.test=127.0.0.1:${port},down.test=127.0.0.1:1`);
    expect((await fetcher("http://a.test/empty")).status).toBe(204);
    const failure = await fetcher("http://down.test/").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect(String((failure as TypeError).cause)).toMatch(/ECONNREFUSED/);
  });

  it("lets ProviderApi reach a server named by a mapped name", async () => {
    const api = new ProviderApi({
      server: "http://a.test",
      fetch: unreachableBase,
      connectTo: `a.test=127.0.0.1:${port}`,
      token: "t",
    });
    expect(await api.me()).toMatchObject({ host: "a.test", url: "/api/v1/me" });
    expect(await api.withToken("u").me()).toMatchObject({ host: "a.test" });
  });
});
