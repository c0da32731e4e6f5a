import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * Group DMs (docs/protocol.md section 14) across three providers: gina@a.test, greta@b.test and
 * gwen@c.test. A conversation is its participant set: the first message starts its MLS group on the
 * sender's provider, adds the others one by one, and goes to each participant's actor directly; every
 * device shows it under the same participants. Written once, run against any deployment (see
 * deployment.ts).
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);

/** The texts of the conversation of `user` with `others`, as `user`'s client shows it. */
async function dmTexts(user: string, others: string[]): Promise<string[]> {
  try {
    return (await client(user).readDm(others)).messages.map((message) => message.content);
  } catch {
    return [];
  }
}

/** Syncs `user` until the conversation with `others` shows `text`. */
async function readsDm(user: string, others: string[], text: string) {
  await syncUntil(user, `"${text}"`, async () => (await dmTexts(user, others)).includes(text));
}

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("gina", "a.test");
  await clients.signUp("greta", "b.test");
  await clients.signUp("gwen", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("group DMs", () => {
  it("a one-to-one conversation across providers starts with its first message", async () => {
    const sent = await client("gina").dm(["greta@b.test"], "hello greta", { timeoutMs: 30_000 });
    expect(sent.started).toBe(true);
    await readsDm("greta", ["@gina@a.test"], "hello greta");
    const answer = await client("greta").dm(["gina@a.test"], "hello gina", { timeoutMs: 30_000 });
    expect(answer.started).toBe(false);
    await readsDm("gina", ["greta@b.test"], "hello gina");
    expect(await dmTexts("gina", ["greta@b.test"])).toEqual(["hello greta", "hello gina"]);

    const listed = await client("greta").dms();
    const ours = listed.find((conversation) => conversation.label === "@gina@a.test");
    expect(ours?.participants).toEqual(["acct:gina@a.test", "acct:greta@b.test"]);
    expect(ours?.lastMessage?.content).toBe("hello gina");
    expect(ours?.lastMessage?.senderUri).toBe("acct:greta@b.test");
    expect(ours?.groups).toHaveLength(1);
  }, 240_000);

  it("a group DM across three providers reaches every participant, from every participant", async () => {
    const others = {
      gina: ["greta@b.test", "gwen@c.test"],
      greta: ["gina@a.test", "gwen@c.test"],
      gwen: ["gina@a.test", "greta@b.test"],
    };
    const sent = await client("gwen").dm(others.gwen, "hello both", { timeoutMs: 30_000 });
    expect(sent.started).toBe(true);
    await readsDm("gina", others.gina, "hello both");
    await readsDm("greta", others.greta, "hello both");
    await client("gina").dm(others.gina, "hi from gina", { timeoutMs: 30_000 });
    await readsDm("greta", others.greta, "hi from gina");
    await readsDm("gwen", others.gwen, "hi from gina");
    for (const user of ["gina", "greta", "gwen"] as const)
      expect(await dmTexts(user, others[user])).toEqual(["hello both", "hi from gina"]);
    // A different set is a different conversation: the one-to-one kept its own messages.
    expect(await dmTexts("gina", ["greta@b.test"])).toEqual(["hello greta", "hello gina"]);
    const message = (await client("greta").readDm(others.greta)).messages[1];
    expect(message?.senderUri).toBe("acct:gina@a.test");
  }, 240_000);

  it("two participants who start at once converge on one group and lose nothing", async () => {
    const [fromGina, fromGwen] = await Promise.all([
      client("gina").dm(["gwen@c.test"], "gina starts", { timeoutMs: 30_000 }),
      client("gwen").dm(["gina@a.test"], "gwen starts", { timeoutMs: 30_000 }),
    ]);
    expect(fromGina.started && fromGwen.started).toBe(true);
    await readsDm("gina", ["gwen@c.test"], "gwen starts");
    await readsDm("gwen", ["gina@a.test"], "gina starts");
    // Both groups are known to both; each now sends in the same (lowest) one.
    await syncUntil("gina", "both groups", async () => {
      const found = (await client("gina").dms()).find((c) => c.label === "@gwen@c.test");
      return found?.groups.length === 2 && found.groups.every((group) => group.status === "active");
    });
    await syncUntil("gwen", "both groups", async () => {
      const found = (await client("gwen").dms()).find((c) => c.label === "@gina@a.test");
      return found?.groups.length === 2 && found.groups.every((group) => group.status === "active");
    });
    const next = await client("gina").dm(["gwen@c.test"], "gina again", { timeoutMs: 30_000 });
    const reply = await client("gwen").dm(["gina@a.test"], "gwen again", { timeoutMs: 30_000 });
    expect(next.started || reply.started).toBe(false);
    expect(next.message.channelId).toBe(reply.message.channelId);
    const urls = (await client("gina").dms())
      .find((c) => c.label === "@gwen@c.test")
      ?.groups.map((g) => g.url);
    expect(next.conversation.group?.url).toBe([...(urls ?? [])].sort()[0]);
    await readsDm("gina", ["gwen@c.test"], "gwen again");
    await readsDm("gwen", ["gina@a.test"], "gina again");
    for (const [user, other] of [
      ["gina", "gwen@c.test"],
      ["gwen", "gina@a.test"],
    ] as const)
      expect([...(await dmTexts(user, [other]))].sort()).toEqual([
        "gina again",
        "gina starts",
        "gwen again",
        "gwen starts",
      ]);
  }, 240_000);

  it("a key update inside a DM is applied by every participant, and messages still flow", async () => {
    const conversation = (await client("greta").dms()).find((c) => c.label === "@gina@a.test");
    const url = conversation?.sendingGroup as string;
    expect(url).toBeDefined();
    const epoch = await clients.epochOf("greta", url);
    await client("greta").rotateKeys(url);
    const settled = await client("greta").waitForChannel(url, { timeoutMs: 30_000 });
    expect(settled.settled).toBe(true);
    expect(settled.events.filter((event) => event.type === "rejected")).toEqual([]);
    expect(await clients.epochOf("greta", url)).toBe(epoch + 1);
    await syncUntil(
      "gina",
      "greta's key update",
      async () => (await clients.epochOf("gina", url)) === epoch + 1,
    );
    await client("greta").dm(["gina@a.test"], "after new keys", { timeoutMs: 30_000 });
    await readsDm("gina", ["greta@b.test"], "after new keys");
  }, 240_000);

  it("refuses bad inputs and changes nothing", async () => {
    const before = await client("gina").dms();
    await expect(client("gina").dm([], "to nobody")).rejects.toThrow(/at least one other participant/);
    await expect(client("gina").dm(["gina@a.test"], "to myself")).rejects.toThrow(
      /at least one other participant/,
    );
    await expect(client("gina").dm(["not an account"], "hi")).rejects.toThrow(/not an account/);
    await expect(client("gina").dm(["greta@b.test"], "")).rejects.toThrow(/empty message/);
    await expect(client("gina").readDm(["gwen@c.test", "greta@b.test", "nobody@b.test"])).rejects.toThrow(
      /no conversation/,
    );
    const tooMany = Array.from({ length: 32 }, (_, i) => `user${i}@b.test`);
    await expect(client("gina").dm(tooMany, "hi all")).rejects.toThrow(/at most 32 participants/);
    expect(await client("gina").dms()).toEqual(before);
  }, 240_000);

  it("starts nothing with a participant who does not exist", async () => {
    const failed = await client("gwen")
      .dm(["greta@b.test", "nobody@b.test"], "to a ghost", { timeoutMs: 30_000 })
      .then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
    expect(failed).toMatch(/has no user nobody/);
    // Every participant is claimed before the group is made: nothing was started, nobody was added.
    expect(
      (await client("gwen").dms()).some((conversation) =>
        conversation.participants.includes("acct:nobody@b.test"),
      ),
    ).toBe(false);
    await client("greta").sync();
    await expect(client("greta").readDm(["gwen@c.test", "nobody@b.test"])).rejects.toThrow(/no conversation/);
  }, 240_000);

  it("a participant's new device joins a DM group and reads what is sent after", async () => {
    const trio = ["gina@a.test", "gwen@c.test"];
    const label = "@gina@a.test,@gwen@c.test";
    const url = (await client("greta").dms()).find((c) => c.label === label)?.sendingGroup as string;
    const epoch = await clients.epochOf("gwen", url);
    const phone = await clients.addDevice("greta-phone", "greta", "b.test");
    const joined = await phone.joinChannels({ timeoutMs: 30_000 });
    expect(joined.waiting).toBe(0);
    expect(joined.events.flatMap((event) => (event.type === "joined" ? [event.channel.url] : []))).toContain(
      url,
    );
    expect((await phone.dms()).find((c) => c.label === label)?.sendingGroup).toBe(url);
    // Every group of every conversation greta is in, whichever provider hosts it.
    const groupsOf = async (user: string) =>
      (await client(user).dms()).flatMap((c) =>
        c.groups.filter((g) => g.status === "active").map((g) => g.url),
      );
    expect((await groupsOf("greta-phone")).sort()).toEqual((await groupsOf("greta")).sort());
    // What was sent before the device joined is not for it.
    expect(await dmTexts("greta-phone", trio)).toEqual([]);
    for (const user of ["gwen", "gina"])
      await syncUntil(user, "the phone's join", async () => (await clients.epochOf(user, url)) === epoch + 1);
    await client("gwen").dm(["gina@a.test", "greta@b.test"], "to all of greta's devices", {
      timeoutMs: 30_000,
    });
    await readsDm("greta-phone", trio, "to all of greta's devices");
    await readsDm("greta", trio, "to all of greta's devices");
    // What greta sends from one device shows on the other, as from her.
    await client("greta").dm(["gina@a.test", "gwen@c.test"], "sent from greta's first device", {
      timeoutMs: 30_000,
    });
    await readsDm("greta-phone", trio, "sent from greta's first device");
    const mine = (await client("greta-phone").readDm(trio)).messages.at(-1);
    expect(mine?.senderUri).toBe("acct:greta@b.test");
  }, 240_000);
});
