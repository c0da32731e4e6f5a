import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClientEvent, MimiClient, ProviderApi, StateStore } from "@mimi/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * A device whose state of a channel is lost joins it again: rune@a.test hosts a channel that hedy@b.test
 * is in. Hedy's client loses its MLS state of the channel (the state is gone, then it is garbage);
 * each time it joins again by external commit as a resync that replaces its own old leaf, says so
 * while it waits, and reads and sends again once the channel accepted. Written once, run against any
 * deployment (see deployment.ts).
 */
let deployment: Deployment;
const clients = new Map<string, MimiClient>();
const homes = new Map<string, string>();

async function signUp(user: string, domain: string): Promise<MimiClient> {
  const home = deployment.home(`${user}@${domain}`);
  const api = new ProviderApi({ server: deployment.server(domain) });
  const created = await api.createAccount(user, `${user}'s password`);
  const me = await api.withToken(created.token).me();
  await new StateStore(home).saveAccount({
    server: api.server,
    username: me.username,
    acct: me.acct,
    actor: me.actor,
    token: created.token,
  });
  const client = new MimiClient({ home, connectTo: deployment.connectTo });
  expect((await client.addDevice(`${user}'s laptop`)).keyPackages.ok).toBe(true);
  clients.set(user, client);
  homes.set(user, join(home, "accounts", `${user}@${domain}`));
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

async function texts(name: string, url: string): Promise<string[]> {
  return (await client(name).messages(url)).messages.map((m) => m.content);
}

async function sendAndRead(name: string, url: string, text: string, reader: string) {
  await client(name).send(url, text);
  await syncUntil(reader, `"${text}"`, async () => (await texts(reader, url)).includes(text));
}

/** Replaces (or, with undefined, removes) the MLS state hedy's client saved for the channel. */
async function tamperState(channelId: string, state: string | undefined) {
  const file = join(homes.get("hedy") ?? "", "channels", `${channelId}.json`);
  const record = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  if (state === undefined) delete record.state;
  else record.state = state;
  await writeFile(file, JSON.stringify(record));
}

async function hedysLeaves(url: string): Promise<number> {
  const members = await client("rune").members(url);
  return members.members.find((member) => member.acct === "acct:hedy@b.test")?.clients.length ?? 0;
}

beforeAll(async () => {
  deployment = await openDeployment();
  await signUp("rune", "a.test");
  await signUp("hedy", "b.test");
}, 240_000);

afterAll(async () => {
  for (const c of clients.values()) await c.close();
  await deployment?.close();
});

describe("a device whose channel state is lost", () => {
  let url = "";
  let id = "";

  async function rejoins(before: () => Promise<void>) {
    const epoch = (await client("rune").channel(url)).epoch;
    await before();
    const events = await syncUntil("hedy", "joining again", async () => {
      const channel = await client("hedy").channel(url);
      return channel.status === "active" && channel.outOfSync === undefined && channel.epoch > epoch;
    });
    expect(
      events.some(
        (event) =>
          event.type === "skipped" && /joining the channel again by external commit/.test(event.reason),
      ),
    ).toBe(true);
    expect(events.filter((event) => event.type === "joined").map((event) => event.channel.url)).toEqual([
      url,
    ]);
    // The resync replaced hedy's old leaf: still one client of hedy in the group.
    await syncUntil(
      "rune",
      "hedy's rejoin",
      async () => (await client("rune").channel(url)).epoch === epoch + 1,
    );
    expect(await hedysLeaves(url)).toBe(1);
  }

  it("joins again when the state is gone, and reads and sends from then on", async () => {
    const created = await client("rune").createChannel("orchard");
    url = created.url;
    id = created.id;
    expect((await client("rune").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await client("rune").addMember(url, "hedy@b.test");
    expect((await client("rune").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil("hedy", "joining orchard", async () =>
      (await client("hedy").channels()).some((c) => c.url === url && c.status === "active"),
    );
    await sendAndRead("rune", url, "before the loss", "hedy");

    await rejoins(() => tamperState(id, undefined));
    await sendAndRead("rune", url, "after the rejoin", "hedy");
    await sendAndRead("hedy", url, "hedy is back", "rune");
    // What hedy had read stays on the device.
    expect(await texts("hedy", url)).toContain("before the loss");
  });

  it("joins again when the state does not decode, met while a message arrives", async () => {
    await rejoins(async () => {
      await tamperState(id, Buffer.from("not an MLS state").toString("base64"));
      await client("rune").send(url, "sent while the state is broken");
    });
    await sendAndRead("rune", url, "after the second rejoin", "hedy");
    await sendAndRead("hedy", url, "hedy is back again", "rune");
  });
});
