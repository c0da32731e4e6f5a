import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * Leaving a channel across three providers: luna@a.test hosts a channel that leo@b.test and
 * lia@c.test are in. leo, on another provider than the channel, leaves: the channel's server stops
 * counting him as a follower at once, a remaining member's client commits the Remove of his leaves by
 * itself, the others keep talking, and leo receives nothing more but keeps what he had. The owner
 * cannot leave while others remain. Written once, run against any deployment (see deployment.ts).
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("luna", "a.test");
  await clients.signUp("leo", "b.test");
  await clients.signUp("lia", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("leaving a channel", () => {
  it("a member on another provider leaves; the others commit his removal and keep talking", async () => {
    const created = await client("luna").createChannel("leaving");
    const url = created.url;
    expect((await client("luna").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    for (const acct of ["leo@b.test", "lia@c.test"]) {
      await client("luna").addMember(url, acct);
      expect((await client("luna").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
      const user = acct.split("@")[0] ?? acct;
      await syncUntil(user, "joining", async () =>
        (await client(user).channels()).some((c) => c.url === url),
      );
    }
    await clients.sendAndRead("luna", url, "before leo leaves", ["leo", "lia"]);
    const leo = (await client("leo").account()).actor;

    // The owner stays while others remain.
    const refused = await client("luna").leave(url, { timeoutMs: 30_000 });
    expect(refused.outcome).toEqual({
      status: "refused",
      reason: "the channel's owner cannot leave while other members remain",
    });
    expect(refused.channel.status).toBe("active");

    const left = await client("leo").leave(url, { timeoutMs: 30_000 });
    expect(left.outcome).toEqual({ status: "left" });
    expect(left.channel).toMatchObject({ status: "left", note: "you left" });
    // At once, before any commit: the channel's server no longer lists him.
    const followers = (await client("lia").members(url)).followers ?? [];
    expect(followers).not.toContain(leo);
    expect(followers).toHaveLength(2);

    // luna holds the lowest remaining leaf: her client commits the Remove on its next sync.
    await syncUntil(
      "luna",
      "committing leo's removal",
      async () => (await clients.epochOf("luna", url)) === 3,
    );
    expect((await client("luna").channel(url)).waiting).toBe(false);
    await syncUntil("lia", "leo's removal", async () => (await clients.epochOf("lia", url)) === 3);
    for (const user of ["luna", "lia"]) {
      const members = (await client(user).members(url)).members.map((m) => m.acct).sort();
      expect(members).toEqual(["acct:lia@c.test", "acct:luna@a.test"]);
    }

    await clients.sendAndRead("lia", url, "after leo left", ["luna"]);
    await clients.sendAndRead("luna", url, "still here", ["lia"]);
    await client("leo").sync();
    expect(await clients.texts("leo", url)).toEqual(["before leo leaves"]);
    expect((await client("leo").channel(url)).status).toBe("left");
    expect(await clients.texts("lia", url)).toEqual(["before leo leaves", "after leo left", "still here"]);
  }, 240_000);
});
