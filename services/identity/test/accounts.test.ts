import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
});
afterAll(() => identity.close());

async function accountCount(): Promise<number> {
  return (await identity.sql.query<{ n: number }>("select count(*) as n from identity.accounts")).rows[0]!.n;
}
async function tokenCount(): Promise<number> {
  return (await identity.sql.query<{ n: number }>("select count(*) as n from identity.tokens")).rows[0]!.n;
}

describe("accounts and tokens", () => {
  it("creates an account with a first token that authenticates", async () => {
    const created = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "bob_2",
      password: "hunter2hunter2",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      username: "bob_2",
      acct: "acct:bob_2@a.test",
      actor: "http://a.test/users/bob_2",
    });
    const token = String(created.body.token);
    const me = await fetch(`${identity.base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: "bob_2", acct: "acct:bob_2@a.test", clients: [] });
  });

  it("stores a memory-hard hash, never the password", async () => {
    const row = await identity.sql.query<{ password_hash: string }>(
      "select password_hash from identity.accounts where username = 'bob_2'",
    );
    expect(row.rows[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(row.rows[0]!.password_hash).not.toContain("hunter2");
  });

  it("refuses a taken name with 409 and changes nothing", async () => {
    const before = [await accountCount(), await tokenCount()];
    const res = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "bob_2",
      password: "another password",
    });
    expect(res.status).toBe(409);
    expect(res.type).toMatch(/problem\+json/);
    expect([await accountCount(), await tokenCount()]).toEqual(before);
  });

  it.each([
    [{ username: "Bob", password: "long enough" }],
    [{ username: "a".repeat(31), password: "long enough" }],
    [{ username: "bad-name", password: "long enough" }],
    [{ username: "", password: "long enough" }],
    [{ username: "carol", password: "short" }],
    [{ username: "carol" }],
    [["not", "an", "object"]],
  ])("refuses %o with 400 and changes nothing", async (body) => {
    const before = await accountCount();
    const res = await postJson(`${identity.base}/api/v1/accounts`, body);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/problem\+json/);
    expect(await accountCount()).toBe(before);
  });

  it("answers a non-JSON body with 415 and malformed JSON with 400", async () => {
    const text = await fetch(`${identity.base}/api/v1/accounts`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(text.status).toBe(415);
    const broken = await fetch(`${identity.base}/api/v1/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(broken.status).toBe(400);
  });

  it("issues tokens for the right password only, with one message for both failures", async () => {
    const ok = await postJson(`${identity.base}/api/v1/tokens`, {
      username: "bob_2",
      password: "hunter2hunter2",
    });
    expect(ok.status).toBe(201);
    expect(String(ok.body.token)).toMatch(/^mimi_/);
    const before = await tokenCount();
    const wrongPassword = await postJson(`${identity.base}/api/v1/tokens`, {
      username: "bob_2",
      password: "nope nope",
    });
    const unknownUser = await postJson(`${identity.base}/api/v1/tokens`, {
      username: "ghost",
      password: "nope nope",
    });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(wrongPassword.body.detail).toBe(unknownUser.body.detail);
    expect(await tokenCount()).toBe(before);
  });

  it("rejects missing and unknown bearer tokens", async () => {
    expect((await fetch(`${identity.base}/api/v1/me`)).status).toBe(401);
    const bad = await fetch(`${identity.base}/api/v1/me`, {
      headers: { authorization: "Bearer mimi_forged" },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("registers clients (devices) for the token's user", async () => {
    const created = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "dave",
      password: "dave's password",
    });
    const auth = { authorization: `Bearer ${String(created.body.token)}` };
    const laptop = await postJson(`${identity.base}/api/v1/clients`, { name: "laptop" }, auth);
    expect(laptop.status).toBe(201);
    expect(String(laptop.body.id)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    await postJson(`${identity.base}/api/v1/clients`, { name: "phone" }, auth);
    const list = (await (await fetch(`${identity.base}/api/v1/clients`, { headers: auth })).json()) as {
      items: { name: string }[];
    };
    expect(list.items.map((c) => c.name)).toEqual(["laptop", "phone"]);
    expect((await postJson(`${identity.base}/api/v1/clients`, { name: "" }, auth)).status).toBe(400);
  });
});
