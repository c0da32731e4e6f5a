import { deliveryFanoutMigrations } from "@mimi/delivery-fanout";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReachableOrigins } from "../src/adapters/reachable-origins.js";
import {
  createAccount,
  type FakeRemote,
  type IngestWorld,
  postSigned,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

/** A server that signs a request to us is up: delivery stops treating it as unavailable. */
let world: IngestWorld;
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor;

beforeAll(async () => {
  world = await startIngestWorld({ migrations: [deliveryFanoutMigrations] });
  ({ sql, remote, ingest } = world);
  await createAccount(sql, "bob");
  carol = remote.addActor("http://remote.test", "/users/carol", "ed25519");
});

afterAll(async () => {
  await world?.close();
});

const markedUnavailable = async (origin: string) =>
  (
    await sql.query(
      "select 1 from delivery.destinations where origin = $1 and unavailable_since is not null",
      [origin],
    )
  ).rows.length > 0;

describe("an origin given up on", () => {
  it("is reachable again once a request it signed arrives", async () => {
    await sql.query(
      "insert into delivery.destinations (origin, failure_days, unavailable_since) values ($1, '[]', now())",
      ["http://remote.test"],
    );
    expect(await markedUnavailable("http://remote.test")).toBe(true);
    const activity = {
      id: `${carol.id}/activities/${crypto.randomUUID()}`,
      type: "Create",
      actor: carol.id,
      object: { type: "Note", content: "hello" },
      to: ["http://b.test/users/bob"],
    };
    const response = await postSigned(`${ingest.base}/users/bob/inbox`, JSON.stringify(activity), carol);
    expect(response.status).toBe(202);
    expect(await markedUnavailable("http://remote.test")).toBe(false);
  });

  it("is reported once per interval, and a failed report is tried on the next request", async () => {
    let clock = 0;
    const statements: string[] = [];
    let fail = true;
    const reporting = createReachableOrigins(
      {
        query: async (text: string) => {
          statements.push(text);
          if (fail) throw new Error("database down");
          return { rows: [], rowCount: 0 };
        },
      } as unknown as Sql,
      { intervalMs: 1_000, now: () => clock },
    );
    await reporting("http://x.test");
    fail = false;
    await reporting("http://x.test");
    await reporting("http://x.test");
    clock += 1_001;
    await reporting("http://x.test");
    expect(statements).toHaveLength(3);
  });
});
