import { type ClientEvent, MimiClient, ProviderApi, StateStore } from "@mimi/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * A removed device is deleted at its home server: erin@b.test has a laptop and a phone in a channel
 * that fumi@a.test hosts. Erin removes the phone from the laptop: once the channel took it out, b.test
 * deletes the phone's client, its KeyPackages can no longer be claimed, and adding erin again (to the
 * same channel or a new one) brings in the laptop only. Written once, run against any deployment.
 */
let deployment: Deployment;
const clients = new Map<string, MimiClient>();
const password = (user: string) => `${user}'s password`;

async function saveLogin(home: string, domain: string, token: string) {
  const api = new ProviderApi({ server: deployment.server(domain) });
  const me = await api.withToken(token).me();
  await new StateStore(home).saveAccount({
    server: api.server,
    username: me.username,
    acct: me.acct,
    actor: me.actor,
    token,
  });
}

/** A device of `user` in a fresh MIMI_HOME known here as `name`; the first one creates the account. */
async function device(name: string, user: string, domain: string, create: boolean): Promise<MimiClient> {
  const home = deployment.home(`${name}@${domain}`);
  const api = new ProviderApi({ server: deployment.server(domain) });
  const token = create
    ? (await api.createAccount(user, password(user))).token
    : (await api.createToken(user, password(user))).token;
  await saveLogin(home, domain, token);
  const client = new MimiClient({ home, connectTo: deployment.connectTo });
  expect((await client.addDevice(name)).keyPackages.ok).toBe(true);
  clients.set(name, client);
  return client;
}

function client(name: string): MimiClient {
  const found = clients.get(name);
  if (!found) throw new Error(`no client ${name}`);
  return found;
}

async function syncUntil(name: string, what: string, done: () => Promise<boolean>): Promise<ClientEvent[]> {
  const deadline = Date.now() + 30_000;
  const events: ClientEvent[] = [];
  for (;;) {
    events.push(...(await client(name).sync()).events);
    if (await done()) return events;
    if (Date.now() > deadline) throw new Error(`${name}: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

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
  const token = (await api.createToken("fumi", password("fumi"))).token;
  const claim = await api.withToken(token).claimKeyPackages("erin@b.test");
  return {
    served: (claim.items ?? claim.orderedItems ?? []).map((item) => String(item["mimi:client"])),
    unavailable: (claim["mimi:unavailable"] ?? []).map((entry) => String(entry["mimi:client"])),
  };
}

beforeAll(async () => {
  deployment = await openDeployment();
  await device("fumi", "fumi", "a.test", true);
  await device("erin laptop", "erin", "b.test", true);
  await device("erin phone", "erin", "b.test", false);
}, 240_000);

afterAll(async () => {
  for (const c of clients.values()) await c.close();
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
    const token = (await api.createToken("erin", password("erin"))).token;
    await expect(
      api.withToken(token).deleteClient(laptopId, { callingClientId: laptopId }),
    ).rejects.toMatchObject({ status: 409, body: { reason: "currentDevice" } });
    expect((await client("erin laptop").devices()).map((d) => d.clientId)).toEqual([laptopId]);
  });
});
