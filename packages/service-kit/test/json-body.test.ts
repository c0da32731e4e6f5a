import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import {
  createApp,
  createLogger,
  createMetrics,
  exceedsJsonDepth,
  jsonBody,
  type RunningServer,
  startServer,
} from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let running: RunningServer | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

function nested(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

describe("exceedsJsonDepth", () => {
  it("counts objects and arrays inside each other, not side by side", () => {
    expect(exceedsJsonDepth('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(exceedsJsonDepth('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(exceedsJsonDepth("[[],[],[],[],[]]", 2)).toBe(false);
  });

  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(exceedsJsonDepth(`{"a":"${"[".repeat(100)}"}`, 1)).toBe(false);
    expect(exceedsJsonDepth(`{"a":"\\"[[[[","b":1}`, 1)).toBe(false);
    expect(exceedsJsonDepth(`{"a":"\\\\","b":[[1]]}`, 2)).toBe(true);
  });

  it("reads UTF-8 bytes as it reads the string", () => {
    const text = `{"é€😀":[["ü"]]}`;
    const bytes = new TextEncoder().encode(text);
    for (const max of [2, 3]) expect(exceedsJsonDepth(bytes, max)).toBe(exceedsJsonDepth(text, max));
    expect(exceedsJsonDepth(bytes, 2)).toBe(true);
  });
});

describe("jsonBody", () => {
  async function serve(maxDepth?: number): Promise<string> {
    const router = express.Router();
    router.post(
      "/echo",
      ...jsonBody({ limit: "1mb", ...(maxDepth === undefined ? {} : { maxDepth }) }),
      (req, res) => {
        // What a route does with a body: serialise it again (to store or publish it).
        res.type("application/json").send(JSON.stringify(req.body));
      },
    );
    const app = createApp({ logger, metrics: createMetrics({ defaultMetrics: false }), routers: [router] });
    running = await startServer(app, { port: 0, host: "127.0.0.1", logger });
    return `http://127.0.0.1:${running.port}`;
  }

  const post = (base: string, body: string) =>
    fetch(`${base}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body });

  it("answers JSON nested thousands of levels 400 jsonTooDeep, not a 500 from a RangeError", async () => {
    const base = await serve();
    for (const depth of [65, 7_000, 100_000]) {
      const res = await post(base, nested(depth));
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ status: 400, reason: "jsonTooDeep" });
    }
  });

  it("accepts a body at the depth limit", async () => {
    const base = await serve();
    const res = await post(base, nested(64));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(nested(64));
  });

  it("takes the limit from its option", async () => {
    const base = await serve(2);
    expect((await post(base, '{"a":{"b":1}}')).status).toBe(200);
    expect((await post(base, '{"a":{"b":[1]}}')).status).toBe(400);
  });
});
