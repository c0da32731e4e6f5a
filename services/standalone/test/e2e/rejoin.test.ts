import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TestClients } from "@mimi/testkit/e2e";
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
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);

/** Replaces (or, with undefined, removes) the MLS state hedy's client saved for the channel. */
async function tamperState(channelId: string, state: string | undefined) {
  const file = join(clients.accountHome("hedy"), "channels", `${channelId}.json`);
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
  await clients.signUp("rune", "a.test");
  await clients.signUp("hedy", "b.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
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
    await clients.sendAndRead("rune", url, "before the loss", ["hedy"]);

    await rejoins(() => tamperState(id, undefined));
    await clients.sendAndRead("rune", url, "after the rejoin", ["hedy"]);
    await clients.sendAndRead("hedy", url, "hedy is back", ["rune"]);
    // What hedy had read stays on the device.
    expect(await clients.texts("hedy", url)).toContain("before the loss");
  });

  it("joins again when the state does not decode, met while a message arrives", async () => {
    await rejoins(async () => {
      await tamperState(id, Buffer.from("not an MLS state").toString("base64"));
      await client("rune").send(url, "sent while the state is broken");
    });
    await clients.sendAndRead("rune", url, "after the second rejoin", ["hedy"]);
    await clients.sendAndRead("hedy", url, "hedy is back again", ["rune"]);
  });
});
