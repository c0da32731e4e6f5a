import type { QueryResult, SqlExecutor, SqlParam } from "@mimi/store";
import { describe, expect, it } from "vitest";
import { createClaimConfirmer } from "../src/claim-batcher.js";
import type { PickedClaim } from "../src/keypackage-rows.js";

/** Answers `confirm_claims` as if every user existed with one client "<user>-phone" and nothing picked. */
function fakeSql(options: { failures?: unknown[] } = {}) {
  const statements: Array<readonly SqlParam[]> = [];
  const failures = [...(options.failures ?? [])];
  const sql: SqlExecutor = {
    async query<Row>(_text: string, params: readonly SqlParam[] = []): Promise<QueryResult<Row>> {
      statements.push(params);
      const failure = failures.shift();
      if (failure) throw failure;
      const usernames = params[0] as string[];
      const rows = usernames.map((username, index) => ({
        request: index + 1,
        account_found: !username.startsWith("ghost"),
        client_id: username.startsWith("ghost") ? null : `${username}-phone`,
        claimed_content: null,
        expired: null,
        last_resort_content: null,
        store_behind: false,
      }));
      return { rows: rows as Row[], rowCount: rows.length };
    },
    async exec() {},
  };
  return { sql, statements };
}

const claimOf = (username: string): PickedClaim => ({
  username,
  requestedSuites: [1],
  picks: [],
  requester: "https://c.test/actor",
});

describe("claim confirmer", () => {
  it("confirms the claims of one event-loop turn in one statement, each getting its own answer", async () => {
    const { sql, statements } = fakeSql();
    const confirmer = createClaimConfirmer(sql, () => new Date(0));
    const answers = await Promise.all(
      ["alice", "ghost", "bob"].map((name) => confirmer.confirm(claimOf(name))),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]?.[0]).toEqual(["alice", "ghost", "bob"]);
    expect(answers).toEqual([
      [{ clientId: "alice-phone", storeBehind: false }],
      undefined,
      [{ clientId: "bob-phone", storeBehind: false }],
    ]);
  });

  it("splits a turn's claims into statements of at most maxBatch", async () => {
    const { sql, statements } = fakeSql();
    const confirmer = createClaimConfirmer(sql, () => new Date(0), { maxBatch: 2 });
    const names = ["u1", "u2", "u3", "u4", "u5"];
    const answers = await Promise.all(names.map((name) => confirmer.confirm(claimOf(name))));
    expect(statements.map((params) => params[0])).toEqual([["u1", "u2"], ["u3", "u4"], ["u5"]]);
    expect(answers.map((answer) => answer?.[0]?.clientId)).toEqual(names.map((name) => `${name}-phone`));
  });

  it("runs a statement that lost a deadlock again, and passes other errors to every claim of it", async () => {
    const deadlock = Object.assign(new Error("deadlock detected"), { code: "40P01" });
    const retried = fakeSql({ failures: [deadlock] });
    const confirmer = createClaimConfirmer(retried.sql, () => new Date(0));
    expect(await confirmer.confirm(claimOf("alice"))).toEqual([
      { clientId: "alice-phone", storeBehind: false },
    ]);
    expect(retried.statements).toHaveLength(2);

    const broken = fakeSql({ failures: [new Error("connection lost")] });
    const failing = createClaimConfirmer(broken.sql, () => new Date(0));
    const results = await Promise.allSettled([failing.confirm(claimOf("a")), failing.confirm(claimOf("b"))]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    // The next turn's claims get a statement of their own.
    expect(await failing.confirm(claimOf("c"))).toEqual([{ clientId: "c-phone", storeBehind: false }]);
  });
});
