import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { channelExistsViaSequencer } from "../src/channel-lookup.js";

/** A sequencer stand-in: `/channels/<id>` answers with the status set for that id, and counts asks. */
const statuses = new Map<string, number>();
const asked: string[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const id = decodeURIComponent((request.url ?? "").replace(/^\/channels\//, ""));
    asked.push(id);
    response.writeHead(statuses.get(id) ?? 404).end();
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

it("remembers existing channels for a while, never missing ones, and fails on other answers", async () => {
  let clock = 1_000;
  const exists = channelExistsViaSequencer(base, { rememberExistingMs: 30_000, now: () => clock });
  statuses.set("known", 200);
  asked.length = 0;

  expect(await exists("known")).toBe(true);
  expect(await exists("known")).toBe(true);
  expect(asked).toEqual(["known"]);

  // A channel that does not exist yet is asked for every time, so its creation shows at once.
  expect(await exists("new")).toBe(false);
  statuses.set("new", 200);
  expect(await exists("new")).toBe(true);
  expect(asked).toEqual(["known", "new", "new"]);

  // After the lifetime the sequencer is asked again, and its answer counts.
  clock += 30_001;
  statuses.set("known", 410);
  expect(await exists("known")).toBe(false);

  statuses.set("broken", 500);
  await expect(exists("broken")).rejects.toThrow(/answered 500/);
});
