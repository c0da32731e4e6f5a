import { deliveryFanoutMigrations } from "@mimi/delivery-fanout";
import type { Sql } from "@mimi/store";
import { userInboxTopic } from "@mimi/topics";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  activityId,
  createAccount,
  type FakeRemote,
  type IngestWorld,
  postSigned,
  postWithToken,
  type RemoteActor,
  startIngestWorld,
  type TestIngest,
} from "./harness.js";

const REMOTE = "http://remote.test";
const local = (name: string) => `http://b.test/users/${name}`;

let world: IngestWorld;
let sql: Sql;
let remote: FakeRemote;
let ingest: TestIngest;
let carol: RemoteActor;
let annToken: string;

beforeAll(async () => {
  world = await startIngestWorld({
    migrations: [deliveryFanoutMigrations],
    settings: { maxAddresses: 5, maxRecipients: 3, maxCopyBytes: 20000 },
  });
  ({ sql, remote, ingest } = world);
  annToken = await createAccount(sql, "ann");
  for (const name of ["ben", "cas", "dot"]) await createAccount(sql, name);
  carol = remote.addActor(REMOTE, "/users/carol", "rsa");
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  ingest.bus.published.length = 0;
});

function note(fields: Record<string, unknown>) {
  return { id: activityId(REMOTE), type: "Create", actor: carol.id, object: { type: "Note" }, ...fields };
}

/** Usernames that got a `user.inbox` item. */
function recipients(): string[] {
  return ingest.bus.published
    .filter((batch) => batch.topic === userInboxTopic.name)
    .flatMap((batch) => batch.messages.map((message) => String(message.key)));
}

async function expectRefused(response: Response, status: number, reason: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { reason: string }).reason).toBe(reason);
  expect(ingest.bus.published).toHaveLength(0);
}

describe("what one request may cost", () => {
  it("counts every addressing field, bto and bcc included, toward one limit", async () => {
    const activity = note({
      to: [local("ann")],
      bto: [`${REMOTE}/users/x1`, `${REMOTE}/users/x2`],
      bcc: [`${REMOTE}/users/x3`, `${REMOTE}/users/x4`, `${REMOTE}/users/x5`],
    });
    await expectRefused(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), carol),
      400,
      "tooManyAddresses",
    );
  });

  it("refuses a shared-inbox delivery reaching more local users than the limit", async () => {
    const activity = note({ to: [local("ann"), local("ben")], cc: [local("cas"), local("dot")] });
    await expectRefused(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(activity), carol),
      413,
      "tooManyRecipients",
    );
    const within = note({ to: [local("ann"), local("ben"), local("cas")] });
    const response = await postSigned(`${ingest.base}/inbox`, JSON.stringify(within), carol);
    expect(response.status).toBe(202);
    expect(recipients().sort()).toEqual(["ann", "ben", "cas"]);
  });

  it("refuses a delivery whose copies would store more bytes than the limit", async () => {
    const large = note({ to: [local("ann"), local("ben")], content: "x".repeat(10_500) });
    await expectRefused(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(large), carol),
      413,
      "tooManyRecipients",
    );
    const one = note({ to: [local("ann")], content: "x".repeat(10_500) });
    expect((await postSigned(`${ingest.base}/inbox`, JSON.stringify(one), carol)).status).toBe(202);
  });

  it("refuses deliveries for a user whose mailbox refused items, and reaches the others", async () => {
    await sql.query("insert into delivery.mailbox_usage (username, refused_at) values ('dot', now())");
    await expectRefused(
      await postSigned(`${ingest.base}/users/dot/inbox`, JSON.stringify(note({ to: [local("dot")] })), carol),
      403,
      "mailboxFull",
    );
    await expectRefused(
      await postSigned(`${ingest.base}/inbox`, JSON.stringify(note({ to: [local("dot")] })), carol),
      403,
      "mailboxFull",
    );
    const both = note({ to: [local("ann"), local("dot")] });
    expect((await postSigned(`${ingest.base}/inbox`, JSON.stringify(both), carol)).status).toBe(202);
    expect(recipients()).toEqual(["ann"]);
  });

  it("counts bto and bcc of an outbox submission too, so a client cannot address without bound", async () => {
    const own = (fields: Record<string, unknown>) => ({
      id: `${local("ann")}/activities/${crypto.randomUUID()}`,
      type: "Create",
      actor: local("ann"),
      object: { type: "Note" },
      ...fields,
    });
    const hidden = Array.from({ length: 6 }, (_, index) => `${REMOTE}/users/h${index}`);
    const outbox = `${ingest.base}/users/ann/outbox`;
    await expectRefused(
      await postWithToken(outbox, JSON.stringify(own({ to: [hidden[0]], bcc: hidden.slice(1) })), annToken),
      400,
      "tooManyAddresses",
    );
    const within = own({ to: [hidden[0]], bto: [hidden[1]], bcc: hidden.slice(2, 5) });
    expect((await postWithToken(outbox, JSON.stringify(within), annToken)).status).toBe(202);
  });
});
