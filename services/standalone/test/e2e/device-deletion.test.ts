import { ProviderApi } from "@mimi/client";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * A removed device is deleted at its home server: erin@b.test has a laptop and a phone in a channel
 * that fumi@a.test hosts. Erin removes the phone from the laptop: once the channel took it out, b.test
 * deletes the phone's client, its KeyPackages can no longer be claimed, and adding erin again (to the
 * same channel or a new one) brings in the laptop only. Written once, run against any deployment.
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (name: string) => clients.client(name);
const syncUntil = clients.syncUntil.bind(clients);

async function settle(owner: string, url: string) {
  expect((await client(owner).waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
}

/** How many of erin's clients fumi's view of `url` holds. */
async function erinsClients(url: string): Promise<number> {
  const members = await client("fumi").members(url);
  return members.members.find((member) => member.acct === "acct:erin@b.test")?.clients.length ?? 0;
}

/** A claim of erin's KeyPackages by fumi through a.test: the client ids served and those unavailable. */
async function claimErin(): Promise<{ served: string[]; unavailable: string[] }> {
  const api = new ProviderApi({ server: deployment.server("a.test") });
  const claim = await api.withToken(await clients.token("fumi", "a.test")).claimKeyPackages("erin@b.test");
  return {
    served: (claim.items ?? claim.orderedItems ?? []).map((item) => String(item["mimi:client"])),
    unavailable: (claim["mimi:unavailable"] ?? []).map((entry) => String(entry["mimi:client"])),
  };
}

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("fumi", "a.test", { name: "fumi", device: "fumi" });
  await clients.signUp("erin", "b.test", { name: "erin laptop", device: "erin laptop" });
  await clients.addDevice("erin phone", "erin", "b.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("a removed device", () => {
  let garden = "";
  let phoneId = "";
  let laptopId = "";

  it("is deleted at its home server once the channels took it out", async () => {
    garden = (await client("fumi").createChannel("garden")).url;
    await settle("fumi", garden);
    await client("fumi").addMember(garden, "erin@b.test");
    await settle("fumi", garden);
    expect(await erinsClients(garden)).toBe(2);
    for (const name of ["erin laptop", "erin phone"])
      await syncUntil(name, "joining garden", async () =>
        (await client(name).channels()).some((c) => c.url === garden && c.status === "active"),
      );
    const devices = await client("erin laptop").devices();
    phoneId = devices.find((d) => d.name === "erin phone")?.clientId ?? "";
    laptopId = devices.find((d) => d.current)?.clientId ?? "";
    expect(phoneId).not.toBe("");

    const removed = await client("erin laptop").removeDevice("erin phone", { timeoutMs: 30_000 });
    expect(removed.waiting).toEqual([]);
    expect(removed.notNow).toEqual([]);
    expect(removed.deletedAtHome).toBe(true);
    expect(removed.notDeletedBecause).toBeUndefined();
    expect((await client("erin laptop").devices()).map((d) => d.clientId)).toEqual([laptopId]);
    await syncUntil("fumi", "the phone's removal", async () => (await erinsClients(garden)) === 1);
  });

  it("has no KeyPackages left to claim", async () => {
    const claim = await claimErin();
    expect(claim.served).toEqual([laptopId]);
    expect(claim.unavailable).not.toContain(phoneId);
  });

  it("does not come back when the user is added again", async () => {
    const shed = (await client("fumi").createChannel("shed")).url;
    await settle("fumi", shed);
    await client("fumi").addMember(shed, "erin@b.test");
    await settle("fumi", shed);
    expect(await erinsClients(shed)).toBe(1);

    await client("fumi").removeMember(garden, "erin@b.test");
    await settle("fumi", garden);
    expect(await erinsClients(garden)).toBe(0);
    await client("fumi").addMember(garden, "erin@b.test");
    await settle("fumi", garden);
    expect(await erinsClients(garden)).toBe(1);
    const members = await client("fumi").members(garden);
    expect(members.members.find((member) => member.acct === "acct:erin@b.test")?.clients).toHaveLength(1);
  });

  it("cannot delete the device that asks, unless it says so", async () => {
    const api = new ProviderApi({ server: deployment.server("b.test") });
    const token = await clients.token("erin", "b.test");
    await expect(
      api.withToken(token).deleteClient(laptopId, { callingClientId: laptopId }),
    ).rejects.toMatchObject({ status: 409, body: { reason: "currentDevice" } });
    expect((await client("erin laptop").devices()).map((d) => d.clientId)).toEqual([laptopId]);
  });
});
