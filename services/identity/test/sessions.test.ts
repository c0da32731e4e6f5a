import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
});
afterAll(() => identity.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signUp(username: string, password = `${username} password`): Promise<string> {
  const created = await postJson(`${identity.base}/api/v1/accounts`, { username, password });
  expect(created.status).toBe(201);
  return String(created.body.token);
}

async function logIn(username: string, password = `${username} password`, label = "") {
  return postJson(`${identity.base}/api/v1/tokens`, { username, password, label });
}

async function meStatus(token: string): Promise<number> {
  return (await fetch(`${identity.base}/api/v1/me`, { headers: bearer(token) })).status;
}

async function call(method: string, path: string, token: string): Promise<Response> {
  return fetch(`${identity.base}${path}`, { method, headers: bearer(token) });
}

describe("sessions", () => {
  it("lists the account's sessions, newest first, marking the current one", async () => {
    const first = await signUp("sam");
    const second = String((await logIn("sam", undefined, "laptop")).body.token);
    const res = await call("GET", "/api/v1/tokens", second);
    expect(res.status).toBe(200);
    const { sessions } = (await res.json()) as {
      sessions: Array<{ id: string; label: string; current: boolean }>;
    };
    expect(sessions).toHaveLength(2);
    expect(sessions.map((session) => session.current).sort()).toEqual([false, true]);
    expect(sessions.find((session) => session.current)?.label).toBe("laptop");
    for (const session of sessions) {
      expect(session.id).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(session)).not.toContain(first);
    }
  });

  it("logs this session out, and only this one", async () => {
    const kept = await signUp("lou");
    const leaving = String((await logIn("lou")).body.token);
    expect((await call("DELETE", "/api/v1/tokens/current", leaving)).status).toBe(204);
    expect(await meStatus(leaving)).toBe(401);
    expect(await meStatus(kept)).toBe(200);
  });

  it("logs every session out", async () => {
    const a = await signUp("eve_x");
    const b = String((await logIn("eve_x")).body.token);
    const other = await signUp("someone_else");
    const res = await call("DELETE", "/api/v1/tokens", b);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 2 });
    expect([await meStatus(a), await meStatus(b)]).toEqual([401, 401]);
    expect(await meStatus(other)).toBe(200);
  });

  it("logs one listed session out by its id, never another account's", async () => {
    const mine = await signUp("ida");
    const phone = String((await logIn("ida", undefined, "phone")).body.token);
    const theirs = await signUp("ned");
    const listed = (await (await call("GET", "/api/v1/tokens", mine)).json()) as {
      sessions: Array<{ id: string; label: string }>;
    };
    const phoneId = listed.sessions.find((session) => session.label === "phone")?.id ?? "";
    const nedId = (
      (await (await call("GET", "/api/v1/tokens", theirs)).json()) as { sessions: Array<{ id: string }> }
    ).sessions[0]?.id;
    expect((await call("DELETE", `/api/v1/tokens/${nedId}`, mine)).status).toBe(404);
    expect(await meStatus(theirs)).toBe(200);
    expect((await call("DELETE", `/api/v1/tokens/${phoneId}`, mine)).status).toBe(204);
    expect(await meStatus(phone)).toBe(401);
    expect(await meStatus(mine)).toBe(200);
    expect((await call("DELETE", "/api/v1/tokens/not-an-id", mine)).status).toBe(404);
  });
});

describe("password change", () => {
  it("stores the new password and logs the other sessions out, keeping this one", async () => {
    const here = await signUp("pat", "old password one");
    const elsewhere = String((await logIn("pat", "old password one")).body.token);
    const res = await postJson(
      `${identity.base}/api/v1/me/password`,
      { currentPassword: "old password one", newPassword: "new password two" },
      bearer(here),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 1 });
    expect(await meStatus(here)).toBe(200);
    expect(await meStatus(elsewhere)).toBe(401);
    expect((await logIn("pat", "old password one")).status).toBe(401);
    expect((await logIn("pat", "new password two")).status).toBe(201);
  });

  it("refuses a wrong current password 403 and a short new one 400, changing nothing", async () => {
    const token = await signUp("quinn", "quinn's password");
    const wrong = await postJson(
      `${identity.base}/api/v1/me/password`,
      { currentPassword: "not it at all", newPassword: "new password two" },
      bearer(token),
    );
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ reason: "wrongPassword" });
    const short = await postJson(
      `${identity.base}/api/v1/me/password`,
      { currentPassword: "quinn's password", newPassword: "short" },
      bearer(token),
    );
    expect(short.status).toBe(400);
    expect((await logIn("quinn", "quinn's password")).status).toBe(201);
    expect(await meStatus(token)).toBe(200);
  });

  it("needs a token", async () => {
    const res = await postJson(`${identity.base}/api/v1/me/password`, {
      currentPassword: "x",
      newPassword: "long enough",
    });
    expect(res.status).toBe(401);
  });
});
