import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPgliteSql } from "@mimi/store";
import { describe, expect, it } from "vitest";
import { postJson, startTestIdentity } from "./harness.js";

describe("persistence", () => {
  it("keeps accounts, actor keys and the CA across a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mimi-identity-"));
    try {
      const firstSql = await createPgliteSql({ dataDir });
      const first = await startTestIdentity({ sql: firstSql });
      await postJson(`${first.base}/api/v1/accounts`, { username: "erin", password: "erin's password" });
      const actorBefore = await (
        await fetch(`${first.base}/users/erin`, { headers: { accept: "application/activity+json" } })
      ).json();
      const configBefore = await (await fetch(`${first.base}/.well-known/mimi-configuration`)).json();
      await first.close();
      await firstSql.close();

      const secondSql = await createPgliteSql({ dataDir });
      const second = await startTestIdentity({ sql: secondSql });
      const actorAfter = await (
        await fetch(`${second.base}/users/erin`, { headers: { accept: "application/activity+json" } })
      ).json();
      const configAfter = await (await fetch(`${second.base}/.well-known/mimi-configuration`)).json();
      expect(actorAfter).toEqual(actorBefore);
      expect(configAfter).toEqual(configBefore);
      const token = await postJson(`${second.base}/api/v1/tokens`, {
        username: "erin",
        password: "erin's password",
      });
      expect(token.status).toBe(201);
      await second.close();
      await secondSql.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
