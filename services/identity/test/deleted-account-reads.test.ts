import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountClients, accountExists, existingUsernames, recordClaimedContact } from "../src/reads.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

/**
 * A deleted account, kept through its name's quarantine, does not exist for the other services: no
 * mailbox deliveries (existingUsernames), no KeyPackage claims or lists (accountClients, accountExists),
 * no contacts recorded.
 */
let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
  for (const username of ["dora", "ed"]) {
    const created = await postJson(`${identity.base}/api/v1/accounts`, {
      username,
      password: `${username}'s password`,
    });
    const auth = { authorization: `Bearer ${String(created.body.token)}` };
    await postJson(`${identity.base}/api/v1/clients`, { name: "laptop" }, auth);
    if (username === "dora") {
      const deleted = await postJson(
        `${identity.base}/api/v1/me/delete`,
        { password: "dora's password" },
        auth,
      );
      expect(deleted.status).toBe(200);
    }
  }
});
afterAll(() => identity.close());

describe("the reads of a deleted account", () => {
  it("keeps its row through the quarantine", async () => {
    const row = await identity.sql.query("select deleted_at from identity.accounts where username = 'dora'");
    expect(row.rows).toHaveLength(1);
  });

  it("say it does not exist, while a live account still does", async () => {
    expect(await existingUsernames(identity.sql, ["dora", "ed"])).toEqual(new Set(["ed"]));
    expect(await accountExists(identity.sql, "dora")).toBe(false);
    expect(await accountExists(identity.sql, "ed")).toBe(true);
    expect(await accountClients(identity.sql, "dora")).toEqual({ exists: false });
    expect(await accountClients(identity.sql, "ed")).toMatchObject({ exists: true });
  });

  it("records no contact for it", async () => {
    await recordClaimedContact(identity.sql, "dora", "https://b.example/users/fay");
    await recordClaimedContact(identity.sql, "ed", "https://b.example/users/fay");
    const rows = await identity.sql.query<{ username: string }>(
      "select username from identity.contacts where contact = 'https://b.example/users/fay'",
    );
    expect(rows.rows.map((row) => row.username)).toEqual(["ed"]);
  });
});
