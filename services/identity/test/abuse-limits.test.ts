import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

/** The service trusts its proxy, so X-Forwarded-For is the client address it limits. */
const from = (address: string) => ({ "x-forwarded-for": address });

async function count(identity: TestIdentity, table: "accounts" | "tokens"): Promise<number> {
  return (await identity.sql.query<{ n: number }>(`select count(*) as n from identity.${table}`)).rows[0]!.n;
}

/** A promise that stays pending until `release` is called. */
function blocker() {
  let release: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { done, release };
}

describe("login limits", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({ env: { MIMI_LOGIN_LIMIT_PER_ADDRESS: "5/300" } });
    const created = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "victim",
      password: "the right password",
    });
    expect(created.status).toBe(201);
  });
  afterAll(() => identity.close());

  it("refuses an account's logins 429 with Retry-After after 10 failures, the right password too", async () => {
    const statuses: number[] = [];
    // Each guess from its own address: the per-account limit alone stops them.
    for (let i = 0; i < 30; i += 1) {
      const res = await postJson(
        `${identity.base}/api/v1/tokens`,
        { username: "victim", password: `guess ${i}` },
        from(`10.1.0.${i}`),
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(20).fill(429));

    const tokensBefore = await count(identity, "tokens");
    const res = await fetch(`${identity.base}/api/v1/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", ...from("10.1.1.1") },
      body: JSON.stringify({ username: "VICTIM", password: "the right password" }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ reason: "rateLimited", limit: "login-account" });
    expect(await count(identity, "tokens")).toBe(tokensBefore);
  });

  it("limits login attempts per client address, whatever the account", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await postJson(
        `${identity.base}/api/v1/tokens`,
        { username: `nobody_${i}`, password: "whatever" },
        from("10.2.0.1"),
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const elsewhere = await postJson(
      `${identity.base}/api/v1/tokens`,
      { username: "nobody_0", password: "whatever" },
      from("10.2.0.2"),
    );
    expect(elsewhere.status).toBe(401);
  });

  it("clears an account's failures on a successful login", async () => {
    const local = await startTestIdentity({ env: { MIMI_LOGIN_LIMIT_PER_ACCOUNT: "3/900" } });
    try {
      await postJson(`${local.base}/api/v1/accounts`, { username: "carol", password: "carol password" });
      const login = (password: string) =>
        postJson(`${local.base}/api/v1/tokens`, { username: "carol", password });
      expect((await login("wrong one")).status).toBe(401);
      expect((await login("wrong two")).status).toBe(401);
      expect((await login("carol password")).status).toBe(201);
      expect((await login("wrong three")).status).toBe(401);
      expect((await login("wrong four")).status).toBe(401);
      expect((await login("carol password")).status).toBe(201);
    } finally {
      await local.close();
    }
  });
});

describe("sign-up limits and reserved names", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({
      env: { MIMI_SIGNUP_LIMIT_PER_ADDRESS: "3/3600", MIMI_RESERVED_USERNAMES: "helpdesk, Billing" },
    });
  });
  afterAll(() => identity.close());

  it("creates at most the limit's accounts from one address, however many arrive at once", async () => {
    const before = await count(identity, "accounts");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postJson(
          `${identity.base}/api/v1/accounts`,
          { username: `burst_${i}`, password: "long enough password" },
          from("10.3.0.1"),
        ),
      ),
    );
    const statuses = results.map((result) => result.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status !== 201).every((status) => status === 429)).toBe(true);
    expect(await count(identity, "accounts")).toBe(before + 3);
    const other = await postJson(
      `${identity.base}/api/v1/accounts`,
      { username: "elsewhere", password: "long enough password" },
      from("10.3.0.2"),
    );
    expect(other.status).toBe(201);
  });

  it.each([
    "admin",
    "root",
    "postmaster",
    "abuse",
    "security",
    "support",
    "hostmaster",
    "webmaster",
    "helpdesk",
    "billing",
  ])("refuses the reserved name %s with 409 usernameReserved and creates nothing", async (username) => {
    const before = await count(identity, "accounts");
    const res = await postJson(
      `${identity.base}/api/v1/accounts`,
      { username, password: "long enough password" },
      from(`10.4.0.${username.length}`),
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ reason: "usernameReserved" });
    expect(await count(identity, "accounts")).toBe(before);
  });
});

describe("the password hashing queue", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({
      env: {
        MIMI_PASSWORD_HASH_CONCURRENCY: "1",
        MIMI_PASSWORD_HASH_QUEUE: "30",
        MIMI_PASSWORD_HASH_QUEUE_PER_ADDRESS: "30",
        // The guesses below name many accounts from one address; this test is about the queue.
        MIMI_LOGIN_LIMIT_PER_ADDRESS: "0",
      },
    });
    const created = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "dora",
      password: "dora's password",
    });
    expect(created.status).toBe(201);
  });
  afterAll(() => identity.close());

  it("answers at once, 503 or 429, when the queue or the address's share is full", async () => {
    const full = await startTestIdentity({
      env: {
        MIMI_PASSWORD_HASH_CONCURRENCY: "1",
        MIMI_PASSWORD_HASH_QUEUE: "1",
        MIMI_PASSWORD_HASH_QUEUE_PER_ADDRESS: "1",
      },
    });
    const running = blocker();
    const waiting = blocker();
    let released = false;
    try {
      // One hash running and one waiting fill the queue.
      const held = [
        full.ctx.passwordWork.run("10.5.0.1", () => running.done),
        full.ctx.passwordWork.run("10.5.0.2", () => waiting.done),
      ];
      const queueFull = await postJson(
        `${full.base}/api/v1/tokens`,
        { username: "anyone", password: "anything" },
        from("10.5.0.3"),
      );
      expect(queueFull.status).toBe(503);
      expect(queueFull.body).toMatchObject({ reason: "passwordQueueFull" });
      const addressFull = await postJson(
        `${full.base}/api/v1/tokens`,
        { username: "anyone", password: "anything" },
        from("10.5.0.1"),
      );
      expect(addressFull.status).toBe(429);
      expect(addressFull.body).toMatchObject({ reason: "tooManyConcurrent" });
      // Both were answered while the queue was still held: refused, not made to wait.
      expect([full.ctx.passwordWork.running, full.ctx.passwordWork.waiting]).toEqual([1, 1]);
      running.release();
      waiting.release();
      released = true;
      await Promise.all(held);
    } finally {
      if (!released) {
        running.release();
        waiting.release();
      }
      await full.close();
    }
  });

  it("serves a real login before the backlog of 20 concurrent wrong guesses from one address", async () => {
    const answered: string[] = [];
    const guesses = Array.from({ length: 20 }, (_, i) =>
      postJson(
        `${identity.base}/api/v1/tokens`,
        { username: `guess_${i}`, password: "wrong" },
        from("10.6.0.1"),
      ).then((res) => {
        answered.push(`guess ${res.status}`);
      }),
    );
    // Wait until the guesses fill the queue: one hashing, the rest waiting.
    while (identity.ctx.passwordWork.waiting < 19) await new Promise((resolve) => setTimeout(resolve, 5));
    const login = postJson(
      `${identity.base}/api/v1/tokens`,
      { username: "dora", password: "dora's password" },
      from("10.7.0.1"),
    ).then((res) => {
      answered.push(`dora ${res.status}`);
    });
    await Promise.all([...guesses, login]);
    expect(answered).toHaveLength(21);
    // Only the guess already hashing (and at most one more, started as dora's request arrived) goes first.
    expect(answered.indexOf("dora 201")).toBeGreaterThanOrEqual(0);
    expect(answered.indexOf("dora 201")).toBeLessThanOrEqual(2);
  });
});
