import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accountClients,
  accountExists,
  clientBelongsTo,
  clientIdsOf,
  existingUsernames,
  trustedIssuersPem,
} from "../src/reads.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

/** The reads other services use, against identity's migrated schema and data its own API wrote. */
let identity: TestIdentity;
let aliceClients: string[];
beforeAll(async () => {
  identity = await startTestIdentity();
  const alice = await postJson(`${identity.base}/api/v1/accounts`, {
    username: "alice",
    password: "alice's password",
  });
  await postJson(`${identity.base}/api/v1/accounts`, { username: "bob", password: "bob's password" });
  const auth = { authorization: `Bearer ${String(alice.body.token)}` };
  aliceClients = [];
  for (const name of ["laptop", "phone"]) {
    const created = await postJson(`${identity.base}/api/v1/clients`, { name }, auth);
    aliceClients.push(String(created.body.id));
  }
});
afterAll(() => identity.close());

describe("identity reads", () => {
  it("tells which accounts exist", async () => {
    expect(await existingUsernames(identity.sql, ["alice", "bob", "mallory"])).toEqual(
      new Set(["alice", "bob"]),
    );
    expect(await existingUsernames(identity.sql, [])).toEqual(new Set());
    expect(await accountExists(identity.sql, "alice")).toBe(true);
    expect(await accountExists(identity.sql, "mallory")).toBe(false);
  });

  it("lists a user's clients oldest first, and whether a client is theirs", async () => {
    expect(await clientIdsOf(identity.sql, "alice")).toEqual(aliceClients);
    expect(await clientIdsOf(identity.sql, "bob")).toEqual([]);
    expect(await accountClients(identity.sql, "alice")).toEqual({ exists: true, clientIds: aliceClients });
    expect(await accountClients(identity.sql, "bob")).toEqual({ exists: true, clientIds: [] });
    expect(await accountClients(identity.sql, "mallory")).toEqual({ exists: false });
    expect(await clientBelongsTo(identity.sql, "alice", aliceClients[0]!)).toBe(true);
    expect(await clientBelongsTo(identity.sql, "bob", aliceClients[0]!)).toBe(false);
  });

  it("trusts the CAs identity publishes, newest first, until one is retired", async () => {
    const first = await identity.ctx.authorities.active();
    const second = await identity.ctx.authorities.rotate();
    expect(await trustedIssuersPem(identity.sql)).toEqual([second.certificatePem, first.certificatePem]);
    expect(await trustedIssuersPem(identity.sql)).toEqual(await identity.ctx.authorities.issuersPem());
    await identity.sql.query("update identity.certificate_authorities set retired_at = now() where id = $1", [
      first.id,
    ]);
    expect(await trustedIssuersPem(identity.sql)).toEqual([second.certificatePem]);
  });
});
