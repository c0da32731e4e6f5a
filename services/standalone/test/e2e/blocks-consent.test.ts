import {
  AddWaitsForConsent,
  acceptInvite,
  blockTarget,
  listInvites,
  ProviderApi,
  setConsentRequired,
} from "@mimi/client";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * Blocks and consent across providers: cleo@b.test requires consent, so the add of cleo by
 * kai@a.test waits until cleo accepts, then kai's next sync makes it; dov@c.test, whom cleo blocked,
 * cannot add her at all and is not told why. Written once, run against any deployment.
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment, "consent-");
const client = (user: string) => clients.client(user);

async function apiOf(user: string): Promise<ProviderApi> {
  const account = await client(user).account();
  return new ProviderApi({ server: account.server, token: account.token, connectTo: deployment.connectTo });
}

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("kai", "a.test");
  await clients.signUp("cleo", "b.test");
  await clients.signUp("dov", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("consent and blocks across providers", () => {
  it("keeps a stranger's add waiting until the user accepts, then the adder's sync makes it", async () => {
    const cleo = await apiOf("cleo");
    await setConsentRequired(cleo, true);
    const channel = await client("kai").createChannel("meet");
    await client("kai").waitForChannel(channel.url, { timeoutMs: 30_000 });

    await expect(client("kai").addMember(channel.url, "cleo@b.test")).rejects.toBeInstanceOf(
      AddWaitsForConsent,
    );
    const invites = await listInvites(cleo);
    expect(invites.map((invite) => invite.handle)).toEqual(["kai@a.test"]);
    expect(await acceptInvite(cleo, "kai@a.test")).toEqual([(await client("kai").account()).actor]);

    const round = await client("kai").sync();
    expect(round.warnings.join("\n")).toMatch(/cleo@b\.test accepted: their add was submitted/);
    const settled = await client("kai").waitForChannel(channel.url, { timeoutMs: 30_000 });
    expect(settled.settled).toBe(true);
    await clients.syncUntil("cleo", "the Welcome to meet", async () =>
      (await client("cleo").channels()).some((joined) => joined.url === channel.url),
    );
  }, 120_000);

  it("gives a blocked user an empty pool: their add fails without naming the block", async () => {
    const cleo = await apiOf("cleo");
    await setConsentRequired(cleo, false);
    await blockTarget(cleo, "dov@c.test");
    // Each service reads a user's blocks at most every 10 s; cleo's were read a moment ago.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    const channel = await client("dov").createChannel("lurk");
    await client("dov").waitForChannel(channel.url, { timeoutMs: 30_000 });
    const refused = client("dov").addMember(channel.url, "cleo@b.test");
    await expect(refused).rejects.toThrow(/has no KeyPackage to add/);
    await expect(refused).rejects.not.toThrow(/block/);
  }, 120_000);
});
