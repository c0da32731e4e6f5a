import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

/** `DELETE /api/v1/clients/:clientId`: a user deletes one of their own devices, and only that. */
let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
});
afterAll(() => identity.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signUp(username: string): Promise<string> {
  const created = await postJson(`${identity.base}/api/v1/accounts`, {
    username,
    password: `${username} password`,
  });
  expect(created.status).toBe(201);
  return String(created.body.token);
}

async function addClient(token: string, name: string): Promise<string> {
  const created = await postJson(`${identity.base}/api/v1/clients`, { name }, bearer(token));
  expect(created.status).toBe(201);
  return String(created.body.id);
}

async function clientIds(token: string): Promise<string[]> {
  const res = await fetch(`${identity.base}/api/v1/clients`, { headers: bearer(token) });
  const body = (await res.json()) as { items: { id: string }[] };
  return body.items.map((item) => item.id);
}

async function deleteClient(token: string | undefined, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${identity.base}/api/v1/clients/${path}`, {
    method: "DELETE",
    headers: { ...(token ? bearer(token) : {}), ...headers },
  });
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe("deleting a client", () => {
  it("removes one of the user's own devices and leaves the others", async () => {
    const token = await signUp("dora");
    const phone = await addClient(token, "phone");
    const laptop = await addClient(token, "laptop");
    const res = await deleteClient(token, phone);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: true, id: phone });
    expect(await clientIds(token)).toEqual([laptop]);
    // The deleted client is gone for its credential routes too.
    const challenge = await postJson(
      `${identity.base}/api/v1/clients/${phone}/credential/challenge`,
      {},
      bearer(token),
    );
    expect(challenge.status).toBe(404);
  });

  it("answers 404 for another user's client and for an unknown one, and deletes nothing", async () => {
    const owner = await signUp("ezra");
    const stranger = await signUp("fern");
    const device = await addClient(owner, "tablet");
    for (const id of [device, "no-such-client"]) {
      const res = await deleteClient(stranger, id);
      expect(res.status).toBe(404);
      expect(res.type).toContain("application/problem+json");
    }
    expect(await clientIds(owner)).toEqual([device]);
    expect((await deleteClient(owner, device)).status).toBe(200);
    expect((await deleteClient(owner, device)).status).toBe(404);
  });

  it("refuses a malformed id (400) and a request without a session (401)", async () => {
    const token = await signUp("gus");
    const device = await addClient(token, "desk");
    const bad = await deleteClient(token, "not%20an%20id");
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toBe("badClientId");
    expect((await deleteClient(undefined, device)).status).toBe(401);
    const badFlag = await deleteClient(token, `${device}?self=yes`);
    expect(badFlag.status).toBe(400);
    expect(badFlag.body.reason).toBe("badSelfFlag");
    expect(await clientIds(token)).toEqual([device]);
  });

  it("deletes the calling device only with self=true", async () => {
    const token = await signUp("hana");
    const own = await addClient(token, "this one");
    const refused = await deleteClient(token, own, { "mimi-client-id": own });
    expect(refused.status).toBe(409);
    expect(refused.type).toContain("application/problem+json");
    expect(refused.body.reason).toBe("currentDevice");
    expect(await clientIds(token)).toEqual([own]);
    const done = await deleteClient(token, `${own}?self=true`, { "mimi-client-id": own });
    expect(done.status).toBe(200);
    expect(await clientIds(token)).toEqual([]);
  });
});
