import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentCheck, recordClaimedContact, recordInvite } from "../src/reads.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
let token: string;
const STRANGER = "http://b.test/users/sid";

beforeAll(async () => {
  identity = await startTestIdentity();
  token = String(
    (await postJson(`${identity.base}/api/v1/accounts`, { username: "cora", password: "cora's password" }))
      .body.token,
  );
});
afterAll(() => identity.close());

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${identity.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe("consent", () => {
  it("is off by default and turned on and off by the user", async () => {
    expect((await call("GET", "/api/v1/me/consent")).body).toEqual({ required: false });
    expect(await consentCheck(identity.sql, "cora", STRANGER)).toEqual({ required: false, contact: false });
    expect((await call("PUT", "/api/v1/me/consent", { required: true })).body).toEqual({ required: true });
    expect((await call("PUT", "/api/v1/me/consent", { required: "yes" })).status).toBe(400);
    expect(await consentCheck(identity.sql, "cora", STRANGER)).toEqual({ required: true, contact: false });
  });

  it("records invites within the bounds per user and per requester", async () => {
    const bounds = { perUser: 2, perRequester: 1 };
    expect(await recordInvite(identity.sql, { username: "cora", requester: STRANGER, ...bounds })).toBe(true);
    expect(await recordInvite(identity.sql, { username: "cora", requester: STRANGER, ...bounds })).toBe(true);
    expect(
      await recordInvite(identity.sql, { username: "cora", requester: "http://c.test/users/cy", ...bounds }),
    ).toBe(true);
    expect(
      await recordInvite(identity.sql, { username: "cora", requester: "http://d.test/users/dot", ...bounds }),
    ).toBe(false);
    const listed = await call("GET", "/api/v1/me/invites");
    expect((listed.body.invites as Array<{ handle: string }>).map((invite) => invite.handle).sort()).toEqual([
      "cy@c.test",
      "sid@b.test",
    ]);
  });

  it("accepting makes the requester a contact; declining drops the invite", async () => {
    expect((await call("POST", "/api/v1/me/invites/accept", { requester: "sid@b.test" })).body).toEqual({
      accepted: [STRANGER],
    });
    expect(await consentCheck(identity.sql, "cora", STRANGER)).toEqual({ required: true, contact: true });
    expect((await call("POST", "/api/v1/me/invites/decline", { requester: "cy@c.test" })).status).toBe(204);
    expect((await call("GET", "/api/v1/me/invites")).body).toEqual({ invites: [] });
    const none = await call("POST", "/api/v1/me/invites/accept", { requester: "cy@c.test" });
    expect(none.status).toBe(404);
    expect(none.body.reason).toBe("noInvite");
  });

  it("counts the users one claimed as contacts", async () => {
    await recordClaimedContact(identity.sql, "cora", "http://e.test/users/eli");
    expect((await consentCheck(identity.sql, "cora", "http://e.test/users/eli")).contact).toBe(true);
  });
});
