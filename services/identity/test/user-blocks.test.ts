import { readConfig } from "@mimi/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityConfigSpec } from "../src/config.js";
import { parseUserBlockTarget } from "../src/domain/user-blocks.js";
import { blocksActor, createUserBlocks, userBlocks } from "../src/reads.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
let token: string;

beforeAll(async () => {
  identity = await startTestIdentity({ env: { MIMI_USER_BLOCKS_MAX: "3" } });
  token = String(
    (await postJson(`${identity.base}/api/v1/accounts`, { username: "wren", password: "wren's password" }))
      .body.token,
  );
});
afterAll(() => identity.close());

async function call(method: string, path: string, bearer = token) {
  const res = await fetch(`${identity.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}` },
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe("user blocks API", () => {
  it("blocks users and domains, lists and lifts them", async () => {
    expect(await call("PUT", "/api/v1/me/blocks/Bob@B.test")).toMatchObject({
      status: 201,
      body: { kind: "user", target: "bob@b.test" },
    });
    expect((await call("PUT", `/api/v1/me/blocks/${encodeURIComponent("acct:bob@b.test")}`)).status).toBe(
      200,
    );
    expect((await call("PUT", "/api/v1/me/blocks/spam.test")).body).toMatchObject({ kind: "domain" });
    const listed = await call("GET", "/api/v1/me/blocks");
    expect((listed.body.blocks as Array<{ target: string }>).map((block) => block.target)).toEqual([
      "bob@b.test",
      "spam.test",
    ]);
    expect((await call("DELETE", "/api/v1/me/blocks/spam.test")).status).toBe(204);
    expect((await call("DELETE", "/api/v1/me/blocks/spam.test")).body.reason).toBe("notBlocked");
    expect(await userBlocks(identity.sql, "wren")).toEqual([{ target: "bob@b.test", kind: "user" }]);
  });

  it("refuses bad targets, oneself, too many blocks and requests without a session", async () => {
    expect((await call("PUT", "/api/v1/me/blocks/not%20a%20name")).body.reason).toBe("invalidTarget");
    expect((await call("PUT", "/api/v1/me/blocks/wren@a.test")).body.reason).toBe("ownAccount");
    await call("PUT", "/api/v1/me/blocks/c.test");
    await call("PUT", "/api/v1/me/blocks/d.test");
    const over = await call("PUT", "/api/v1/me/blocks/e.test");
    expect(over.status).toBe(409);
    expect(over.body.reason).toBe("tooManyBlocks");
    expect((await call("GET", "/api/v1/me/blocks", "nonsense")).status).toBe(401);
    expect(() => readConfig(identityConfigSpec, { MIMI_USER_BLOCKS_MAX: "0" })).toThrow(
      /MIMI_USER_BLOCKS_MAX/,
    );
  });
});

describe("matching a sender against a user's blocks", () => {
  const blocks = [
    { target: "bob@b.test", kind: "user" as const },
    { target: "dan@local.test:8443", kind: "user" as const },
    { target: "evil.test", kind: "domain" as const },
  ];
  it("covers the user on its host in the usual URL layouts, and every actor of a blocked domain", () => {
    for (const url of [
      "http://b.test/users/bob",
      "https://b.test/@Bob",
      "http://b.test:81/u/bob",
      "http://x.evil.test/a/1",
    ]) {
      expect(blocksActor(blocks, url), url).toBe(true);
    }
    expect(blocksActor(blocks, "https://local.test:8443/users/dan")).toBe(true);
    for (const url of [
      "http://b.test/users/bobby",
      "http://c.test/users/bob",
      "https://local.test/users/dan",
      "nonsense",
    ]) {
      expect(blocksActor(blocks, url), url).toBe(false);
    }
  });

  it("reads each user's list once per time to live", async () => {
    let now = 0;
    const view = createUserBlocks(identity.sql, { ttlMs: 1_000, now: () => now });
    expect(await view.blocks("wren", "http://b.test/users/bob")).toBe(true);
    await call("DELETE", "/api/v1/me/blocks/bob@b.test");
    expect(await view.blocks("wren", "http://b.test/users/bob")).toBe(true);
    now += 1_000;
    expect(await view.blocks("wren", "http://b.test/users/bob")).toBe(false);
    expect(await view.blocks("nobody", "http://b.test/users/bob")).toBe(false);
  });

  it("parses what users type", () => {
    expect(parseUserBlockTarget("@Carl@C.test")).toEqual({
      ok: true,
      block: { kind: "user", target: "carl@c.test" },
    });
    expect(parseUserBlockTarget("c.test")).toEqual({ ok: true, block: { kind: "domain", target: "c.test" } });
    expect(parseUserBlockTarget("").ok).toBe(false);
  });
});
