import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * Deleting an account across providers: ben@b.test, a member of ana@a.test's channel, deletes his
 * account. His client leaves the channel first (so ana's client commits his removal), then b.test
 * marks the account deleted: his sessions end, his actor and WebFinger answer 410 Gone, and his name
 * cannot be registered again during the quarantine.
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("ana", "a.test");
  await clients.signUp("ben", "b.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("deleting an account", () => {
  it("leaves the user's channels, then the actor is gone and the name quarantined", async () => {
    const created = await client("ana").createChannel("with ben");
    const url = created.url;
    expect((await client("ana").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await client("ana").addMember(url, "ben@b.test");
    expect((await client("ana").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await clients.syncUntil("ben", "joining", async () =>
      (await client("ben").channels()).some((c) => c.url === url),
    );

    await expect(client("ben").deleteAccount("not ben's password")).rejects.toThrow();
    expect((await client("ben").channel(url)).status).toBe("active");

    const deletion = await client("ben").deleteAccount("ben's password", { leaveTimeoutMs: 30_000 });
    expect(deletion.departures.map((d) => [d.channel.url, d.outcome.status])).toEqual([[url, "left"]]);
    expect(Date.parse(deletion.quarantineUntil) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const b = deployment.server("b.test");
    const actor = await fetch(`${b}/users/ben`, { headers: { accept: "application/activity+json" } });
    expect(actor.status).toBe(410);
    expect((await fetch(`${b}/.well-known/webfinger?resource=acct:ben@b.test`)).status).toBe(410);
    const again = await fetch(`${b}/api/v1/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "ben", password: "someone else's password" }),
    });
    expect(again.status).toBe(409);

    // ana's client commits ben's removal; the channel goes on without him.
    await clients.syncUntil(
      "ana",
      "ben's removal",
      async () => (await client("ana").channel(url)).epoch === 2,
    );
    const members = (await client("ana").members(url)).members.map((m) => m.acct);
    expect(members).toEqual(["acct:ana@a.test"]);
  }, 240_000);
});
