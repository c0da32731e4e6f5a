import { StateStore } from "@mimi/client";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendSigned } from "../support/hostile.js";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * The Delete of a deleted account's actor reaches the channels it was in: piet@b.test is a member of
 * pia@a.test's channel. A hostile provider's Delete of piet's actor is refused and changes nothing;
 * piet's own Delete, posted through his outbox (signed by b.test's instance actor) without leaving
 * first, makes a.test's channel drop him as a follower; once deleted, his inbox takes nothing.
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);
const A = "http://a.test";
const B = "http://b.test";
const BEN = `${B}/users/piet`;

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("pia", "a.test");
  await clients.signUp("piet", "b.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

async function followersOf(url: string): Promise<string[]> {
  return (await client("pia").members(url)).followers ?? [];
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("the Delete of a deleted account's actor", () => {
  it("is refused from a hostile provider, and drops the member where the actor's origin says it", async () => {
    const created = await client("pia").createChannel("with piet");
    const url = created.url;
    expect((await client("pia").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await client("pia").addMember(url, "piet@b.test");
    expect((await client("pia").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await clients.syncUntil("piet", "joining", async () =>
      (await client("piet").channels()).some((c) => c.url === url),
    );
    expect(await followersOf(url)).toContain(BEN);

    // evil.test's instance actor says piet's account is gone: refused at a.test, nothing changes.
    const hostile = deployment.hostile;
    if (hostile) {
      const evilInstance = hostile.actor("/actor", "Service");
      const forged = {
        id: `${BEN}/activities/${crypto.randomUUID()}`,
        type: "Delete",
        actor: BEN,
        object: BEN,
        to: [url],
      };
      const response = await sendSigned(deployment.direct("a.test"), `${A}/inbox`, evilInstance.key, {
        body: forged,
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { reason?: string }).reason).toBe("keyOwnerMismatch");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await followersOf(url)).toContain(BEN);
    }

    // piet's own Delete through his outbox, without leaving first: b.test's instance actor signs it.
    const account = await new StateStore(client("piet").options.home).resolveAccount();
    const bearer = { authorization: `Bearer ${account.token}` };
    const posted = await fetch(`${deployment.server("b.test")}/users/piet/outbox`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/activity+json" },
      body: JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id: `${BEN}/activities/${crypto.randomUUID()}`,
        type: "Delete",
        actor: BEN,
        object: BEN,
        to: [url],
      }),
    });
    expect(posted.status).toBe(202);
    const deleted = await fetch(`${deployment.server("b.test")}/api/v1/me/delete`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ password: "piet's password" }),
    });
    expect(deleted.status).toBe(200);

    await until("a.test to drop piet", async () => !(await followersOf(url)).includes(BEN));
    expect(await followersOf(url)).toEqual([`${A}/users/pia`]);
    // pia's client reads the forwarded Delete as piet's departure and commits his Remove.
    await until("pia to commit piet's removal", async () => {
      await client("pia").sync();
      const roster = (await client("pia").members(url)).members.map((member) => member.acct);
      return !roster.some((acct) => acct.includes("piet@b.test"));
    });

    // A deleted account's inbox takes nothing, once the inbox's memory of found accounts
    // (MIMI_INBOX_ACCOUNT_CACHE_SECONDS, 30 s) has let go of it.
    if (hostile) {
      const deliver = () =>
        sendSigned(deployment.direct("b.test"), `${B}/users/piet/inbox`, hostile.mallory.key, {
          body: {
            id: `${hostile.mallory.id}/activities/${crypto.randomUUID()}`,
            type: "Create",
            actor: hostile.mallory.id,
            to: [BEN],
            object: { type: "Note", content: "still there?" },
          },
        });
      await until(
        "piet's inbox to refuse deliveries",
        async () => {
          const response = await deliver();
          if (response.status === 404) return true;
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          return false;
        },
        60_000,
      );
    }
  }, 240_000);
});
