import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * Deleting an account across providers: omar@b.test, a member of olga@a.test's channel, deletes his
 * account. His client leaves the channel first (so olga's client commits his removal), then b.test
 * marks the account deleted: his sessions end, his actor and WebFinger answer 410 Gone, and his name
 * cannot be registered again during the quarantine.
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("olga", "a.test");
  await clients.signUp("omar", "b.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("deleting an account", () => {
  it("leaves the user's channels, then the actor is gone and the name quarantined", async () => {
    const created = await client("olga").createChannel("with omar");
    const url = created.url;
    expect((await client("olga").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await client("olga").addMember(url, "omar@b.test");
    expect((await client("olga").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await clients.syncUntil("omar", "joining", async () =>
      (await client("omar").channels()).some((c) => c.url === url),
    );

    await expect(client("omar").deleteAccount("not omar's password")).rejects.toThrow();
    expect((await client("omar").channel(url)).status).toBe("active");

    const deletion = await client("omar").deleteAccount("omar's password", { leaveTimeoutMs: 30_000 });
    expect(deletion.departures.map((d) => [d.channel.url, d.outcome.status])).toEqual([[url, "left"]]);
    expect(Date.parse(deletion.quarantineUntil) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const b = deployment.server("b.test");
    const actor = await fetch(`${b}/users/omar`, { headers: { accept: "application/activity+json" } });
    expect(actor.status).toBe(410);
    expect((await fetch(`${b}/.well-known/webfinger?resource=acct:omar@b.test`)).status).toBe(410);
    const again = await fetch(`${b}/api/v1/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "omar", password: "someone else's password" }),
    });
    expect(again.status).toBe(409);

    // olga's client commits omar's removal; the channel goes on without him.
    await clients.syncUntil(
      "olga",
      "omar's removal",
      async () => (await client("olga").channel(url)).epoch === 2,
    );
    const members = (await client("olga").members(url)).members.map((m) => m.acct);
    expect(members).toEqual(["acct:olga@a.test"]);
  }, 240_000);
});
