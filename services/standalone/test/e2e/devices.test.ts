import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { AccountStore, DEVICE_TYPE, newActivityId, ProviderApi, StateStore } from "@mimi/client";
import {
  acceptAnyCredential,
  createKeyPackage,
  fromWireObject,
  joinByExternalCommit,
  loadCiphersuite,
  toWireObject,
  x509Credential,
} from "@mimi/mls";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * A user's devices across three providers: dana@a.test hosts a channel that boris@b.test and
 * cleo@c.test are in, and boris hosts one on b.test that dana is in. Boris registers a second device
 * in a fresh MIMI_HOME: it joins both channels by external commit (one on another provider, one on
 * his own), reads and sends from then on, and everyone sees what either of his devices sends.
 * Written once, run against any deployment (see deployment.ts).
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (name: string) => clients.client(name);
const syncUntil = clients.syncUntil.bind(clients);

/**
 * An external commit into `channel` made with `user`'s registered device keys from the channel's
 * current GroupInfo (read through `reader`'s home server), submitted as `submitter` through their outbox.
 */
async function forgedJoin(
  channel: string,
  reader: { user: string; domain: string },
  keysOf: { user: string; domain: string },
  submitter: { user: string; domain: string },
) {
  const readerApi = new ProviderApi({ server: deployment.server(reader.domain) });
  const readerToken = await clients.token(reader.user, reader.domain);
  const groupInfo = fromWireObject(
    await readerApi.withToken(readerToken).channelGroupInfo(channel),
    "GroupInfo",
  );
  if (!groupInfo.ok) throw new Error(groupInfo.detail);
  const home = deployment.home(`${keysOf.user}@${keysOf.domain}`);
  const device = await new AccountStore(
    new StateStore(home).accountDir(`${keysOf.user}@${keysOf.domain}`),
  ).loadDevice();
  if (!device) throw new Error(`${keysOf.user} has no device`);
  const cs = await loadCiphersuite();
  const leaf = await createKeyPackage({
    credential: x509Credential(
      device.credentialChain.map((der) => new Uint8Array(Buffer.from(der, "base64"))),
    ),
    signatureKeyPair: {
      publicKey: new Uint8Array(Buffer.from(device.signaturePublicKey, "base64")),
      privateKey: new Uint8Array(Buffer.from(device.signaturePrivateKey, "base64")),
    },
    cipherSuite: cs,
  });
  const joined = await joinByExternalCommit({
    groupInfo: groupInfo.bytes,
    keyPackage: leaf.keyPackage,
    privateKeyPackage: leaf.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: acceptAnyCredential,
  });
  if (!joined.ok) throw new Error(joined.detail);
  const submitterApi = new ProviderApi({ server: deployment.server(submitter.domain) });
  const token = await clients.token(submitter.user, submitter.domain);
  const actor = (await submitterApi.withToken(token).me()).actor;
  const activity = {
    "@context": ACTIVITY_CONTEXT,
    id: newActivityId(actor),
    type: "Add",
    actor,
    target: channel,
    to: [`${channel}/followers`],
    object: { type: DEVICE_TYPE, "mimi:member": actor },
    "mimi:commit": toWireObject(joined.commit),
    "mimi:groupInfo": toWireObject(joined.groupInfo),
  };
  await submitterApi.withToken(token).postActivity(submitter.user, activity);
  return activity.id;
}

/** The channel's Reject of `activityId` in `name`'s mailbox. */
async function rejectionOf(name: string, activityId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = (await client(name).inbox({ limit: 500 })).find(
      (item) => item.activity.type === "Reject" && item.activity.object === activityId,
    );
    if (found) return found.activity;
    if (Date.now() > deadline) throw new Error(`${name}: no Reject of ${activityId}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function createWith(owner: string, name: string, members: { name: string; acct: string }[]) {
  const created = await client(owner).createChannel(name);
  expect((await client(owner).waitForChannel(created.url, { timeoutMs: 30_000 })).settled).toBe(true);
  for (const member of members) {
    await client(owner).addMember(created.url, member.acct);
    expect((await client(owner).waitForChannel(created.url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil(member.name, `joining ${name}`, async () =>
      (await client(member.name).channels()).some((c) => c.url === created.url),
    );
  }
  return created.url;
}

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("dana", "a.test");
  await clients.signUp("boris", "b.test");
  await clients.signUp("cleo", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("a user's second device", () => {
  let onA = "";
  let onB = "";

  it("joins every channel the user is in, on another provider and on their own, by external commit", async () => {
    onA = await createWith("dana", "garden", [
      { name: "boris", acct: "boris@b.test" },
      { name: "cleo", acct: "cleo@c.test" },
    ]);
    onB = await createWith("boris", "workshop", [{ name: "dana", acct: "dana@a.test" }]);
    await clients.sendAndRead("dana", onA, "before the phone", ["boris", "cleo"]);

    // boris's laptop reports the channel on another provider to his home server, which checks it.
    await client("boris").sync();
    const borisApi = new ProviderApi({ server: deployment.server("b.test") });
    const token = await clients.token("boris", "b.test");
    expect((await borisApi.withToken(token).rememberedChannels()).channels.map((c) => c.id)).toEqual([onA]);

    const phone = await clients.logIn("borisPhone", "boris", "b.test");
    expect((await phone.addDevice("boris's phone")).keyPackages.ok).toBe(true);
    const joined = await phone.joinChannels({ timeoutMs: 30_000 });
    expect(joined.warnings).toEqual([]);
    expect(joined.waiting).toBe(0);
    expect(
      joined.events.flatMap((event) => (event.type === "joined" ? [event.channel.url] : [])).sort(),
    ).toEqual([onA, onB].sort());
    expect((await phone.channels()).map((c) => [c.url, c.status]).sort()).toEqual(
      [
        [onA, "active"],
        [onB, "active"],
      ].sort(),
    );
    // What was sent before the device joined is not for it.
    expect(await clients.texts("borisPhone", onA)).toEqual([]);

    // Every member's client applies the join: a new client of boris, boris still one member.
    const borisActor = (await client("boris").account()).actor;
    for (const name of ["dana", "cleo", "boris"]) {
      const events = await syncUntil(
        name,
        "the phone's join",
        async () => (await clients.epochOf(name, onA)) === 3,
      );
      expect(
        events.flatMap((event) =>
          event.type === "member-added" && event.channel.url === onA ? [[event.actor, event.accts]] : [],
        ),
      ).toEqual([[borisActor, ["acct:boris@b.test"]]]);
    }
    await syncUntil(
      "dana",
      "the phone's join of workshop",
      async () => (await clients.epochOf("dana", onB)) === 2,
    );
    const members = await client("dana").members(onA);
    expect(members.members.find((member) => member.acct === "acct:boris@b.test")?.clients).toHaveLength(2);
    expect(members.followers?.sort()).toEqual(
      [(await client("dana").account()).actor, borisActor, (await client("cleo").account()).actor].sort(),
    );
  });

  it("receives and sends from then on; the user's other device sees what it sends", async () => {
    await clients.sendAndRead("dana", onA, "hello phone", ["borisPhone", "boris", "cleo"]);
    await clients.sendAndRead("borisPhone", onA, "sent from the phone", ["dana", "cleo", "boris"]);
    await clients.sendAndRead("boris", onA, "sent from the laptop", ["borisPhone", "dana", "cleo"]);
    await clients.sendAndRead("borisPhone", onB, "workshop from the phone", ["dana", "boris"]);
    const shown = (await client("dana").messages(onA)).messages.filter(
      (message) => message.content === "sent from the phone",
    );
    expect(shown.map((message) => message.senderUri)).toEqual(["acct:boris@b.test"]);
  });

  it("lists the user's devices, this one marked", async () => {
    const devices = await client("borisPhone").devices();
    expect(devices.map((device) => [device.name, device.current])).toEqual([
      ["boris's laptop", false],
      ["boris's phone", true],
    ]);
  });

  it("is taken out of every channel from the user's other device, and stops receiving", async () => {
    const removed = await client("boris").removeDevice("boris's phone", { timeoutMs: 30_000 });
    expect(removed.device.name).toBe("boris's phone");
    expect(removed.notNow).toEqual([]);
    expect(removed.waiting).toEqual([]);
    expect(
      removed.events
        .flatMap((event) => (event.type === "accepted" && event.what === "remove" ? [event.channel.url] : []))
        .sort(),
    ).toEqual([onA, onB].sort());

    // The phone's client sees the commits take it out; its history stays.
    const borisActor = (await client("boris").account()).actor;
    const left = await syncUntil("borisPhone", "being removed", async () =>
      (await client("borisPhone").channels()).every((c) => c.status === "left"),
    );
    expect(left.filter((event) => event.type === "left").map((event) => event.type)).toHaveLength(2);
    expect(await clients.texts("borisPhone", onA)).toContain("sent from the phone");

    // Members apply it as one of boris's clients removed; boris stays a member.
    const events = await syncUntil(
      "dana",
      "the phone's removal",
      async () => (await clients.epochOf("dana", onA)) === 4,
    );
    expect(
      events.flatMap((event) =>
        event.type === "member-removed" && event.channel.url === onA ? [event.actor] : [],
      ),
    ).toEqual([`a device of ${borisActor}`]);
    const members = await client("dana").members(onA);
    expect(members.members.find((member) => member.acct === "acct:boris@b.test")?.clients).toHaveLength(1);

    await clients.sendAndRead("dana", onA, "after the phone was removed", ["boris", "cleo"]);
    await client("borisPhone").sync();
    expect(await clients.texts("borisPhone", onA)).not.toContain("after the phone was removed");
  });

  it("refuses a join by a non-member and one with a credential of another domain; nothing changes", async () => {
    const epoch = await clients.epochOf("dana", onB);
    // cleo is in garden but not in workshop: her device's external commit is refused.
    const byStranger = await forgedJoin(
      onB,
      { user: "dana", domain: "a.test" },
      { user: "cleo", domain: "c.test" },
      { user: "cleo", domain: "c.test" },
    );
    expect(await rejectionOf("cleo", byStranger)).toMatchObject({ "mimi:reason": "notAMember" });
    // boris is a member, but the joining credential is cleo's, of c.test.
    const otherDomain = await forgedJoin(
      onB,
      { user: "dana", domain: "a.test" },
      { user: "cleo", domain: "c.test" },
      { user: "boris", domain: "b.test" },
    );
    expect(await rejectionOf("boris", otherDomain)).toMatchObject({ "mimi:reason": "wrongDomain" });
    await client("dana").sync();
    expect(await clients.epochOf("dana", onB)).toBe(epoch);
    await clients.sendAndRead("boris", onB, "still just us", ["dana"]);
  });
});
