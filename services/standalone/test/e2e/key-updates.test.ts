import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * Key updates across three providers: kira@a.test hosts a channel that kofi@b.test and kemal@c.test
 * are in. A member's update of their own leaf (`rotateKeys`, `mimi channel rotate`) is verified and
 * ordered by the channel's server like any commit, every other member applies it, and everyone still
 * reads what is sent afterwards. Written once, run against any deployment (see deployment.ts).
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const signUp = (user: string, domain: string) => clients.signUp(user, domain);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);

/** `user` rotates their keys; the channel accepts it at `epoch` and the other members apply it. */
async function rotate(user: string, url: string, epoch: number, others: string[]) {
  const actor = (await client(user).account()).actor;
  await client(user).rotateKeys(url);
  const settled = await client(user).waitForChannel(url, { timeoutMs: 30_000 });
  expect(settled.settled).toBe(true);
  expect(settled.events.filter((event) => event.type === "rejected")).toEqual([]);
  expect(
    settled.events.flatMap((event) => (event.type === "accepted" ? [[event.what, event.epoch]] : [])),
  ).toEqual([["update", epoch]]);
  for (const other of others) {
    const events = await syncUntil(
      other,
      `${user}'s key update`,
      async () => (await clients.epochOf(other, url)) === epoch,
    );
    expect(events.flatMap((event) => (event.type === "keys-updated" ? [event.by] : []))).toEqual([actor]);
  }
}

beforeAll(async () => {
  deployment = await openDeployment();
  await signUp("kira", "a.test");
  await signUp("kofi", "b.test");
  await signUp("kemal", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("key updates of a member's own leaf", () => {
  it("are accepted by the channel's server, applied by every member, and messages still flow", async () => {
    const created = await client("kira").createChannel("rotating");
    const url = created.url;
    expect((await client("kira").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    for (const [index, acct] of ["kofi@b.test", "kemal@c.test"].entries()) {
      await client("kira").addMember(url, acct);
      expect((await client("kira").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
      const user = acct.split("@")[0] ?? acct;
      await syncUntil(user, "joining", async () =>
        (await client(user).channels()).some((c) => c.url === url),
      );
      expect(await clients.epochOf("kira", url)).toBe(index + 1);
    }

    // The channel's host user, then a member on another provider (through the channel's inbox).
    await rotate("kira", url, 3, ["kofi", "kemal"]);
    await clients.sendAndRead("kofi", url, "after kira's new keys", ["kira", "kemal"]);
    await rotate("kofi", url, 4, ["kira", "kemal"]);
    await clients.sendAndRead("kira", url, "after kofi's new keys", ["kofi", "kemal"]);
    await clients.sendAndRead("kemal", url, "kemal too", ["kira", "kofi"]);

    for (const user of ["kira", "kofi", "kemal"]) {
      expect(await clients.epochOf(user, url)).toBe(4);
      expect((await client(user).channel(url)).outOfSync).toBeUndefined();
    }
    expect(await clients.texts("kemal", url)).toEqual([
      "after kira's new keys",
      "after kofi's new keys",
      "kemal too",
    ]);
  }, 240_000);
});
