import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { MimiClient, newActivityId, ProviderApi } from "@mimi/client";
import { loadCiphersuite, roster, selfUpdate, toWireObject, x509Credential } from "@mimi/mls";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * A renewed credential reaches the channels a device is already in: renata@a.test hosts a channel that
 * rolf@b.test and rosa@c.test are in. rolf's device renews its certificate (its clock says fewer than
 * 67 days are left); its next sync commits a key update whose new leaf carries the new certificate,
 * the channel's server checks that it names the same acct and client, and every member applies it,
 * ends with rolf's leaf holding the new certificate and reads on. Written once, run against any
 * deployment (see deployment.ts). A member who puts another member's certificate in their own leaf
 * is refused, and nothing changes.
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);
const DAY = 24 * 3600 * 1000;
let url = "";

async function texts(user: string, url: string): Promise<string[]> {
  return (await client(user).messages(url)).messages.map((m) => m.content);
}

async function epochOf(user: string, url: string): Promise<number> {
  return (await client(user).channel(url)).epoch;
}

/** The leaf certificate (base64 DER) of every member in `user`'s stored group state, in leaf order. */
async function leafCertificates(user: string, url: string): Promise<string[]> {
  const state = await clients.storedChannelState(user, (await client(user).channel(url)).id);
  return roster(state).map((member) =>
    member.credential.credentialType === "x509"
      ? Buffer.from(member.credential.certificates[0] ?? []).toString("base64")
      : "",
  );
}

async function rolfsCertificate(): Promise<string> {
  const device = await client("rolf").device();
  if (!device) throw new Error("rolf has no device");
  return device.credentialChain[0] ?? "";
}

beforeAll(async () => {
  deployment = await openDeployment();
  await clients.signUp("renata", "a.test");
  await clients.signUp("rolf", "b.test");
  await clients.signUp("rosa", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("a renewed credential in the channels a device is in", () => {
  it("is committed by the device's next sync, accepted, applied by every member, and messages flow", async () => {
    const created = await client("renata").createChannel("renewing");
    url = created.url;
    expect((await client("renata").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    for (const acct of ["rolf@b.test", "rosa@c.test"]) {
      await client("renata").addMember(url, acct);
      expect((await client("renata").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
      const user = acct.split("@")[0] ?? acct;
      await syncUntil(user, "joining", async () =>
        (await client(user).channels()).some((c) => c.url === url),
      );
    }
    expect(await epochOf("renata", url)).toBe(2);
    const before = await rolfsCertificate();
    expect(await leafCertificates("renata", url)).toContain(before);

    // rolf's device, its clock 30 days on (fewer than 67 days of its 90-day certificate left), syncs:
    // it renews its credential and commits the key update carrying it.
    await client("rolf").close();
    const late = new MimiClient({
      home: client("rolf").options.home,
      connectTo: deployment.connectTo,
      now: () => new Date(Date.now() + 30 * DAY),
      // No key update is due by age then: the one it commits is the renewal's.
      keyUpdate: { maxAgeMs: 365 * DAY },
    });
    clients.set("rolf", late);
    const renewal = await late.sync();
    const renewed = await rolfsCertificate();
    expect(renewed).not.toBe(before);
    expect(renewal.events.filter((event) => event.type === "key-update-submitted")).toHaveLength(1);
    await clients.restart("rolf");
    const settled = await client("rolf").waitForChannel(url, { timeoutMs: 30_000 });
    expect(settled.settled).toBe(true);
    expect(settled.events.filter((event) => event.type === "rejected")).toEqual([]);
    expect(await epochOf("rolf", url)).toBe(3);

    for (const user of ["renata", "rosa"]) {
      await syncUntil(user, "rolf's renewed leaf", async () => (await epochOf(user, url)) === 3);
    }
    for (const user of ["renata", "rolf", "rosa"]) {
      const leaves = await leafCertificates(user, url);
      expect(leaves, user).toContain(renewed);
      expect(leaves, user).not.toContain(before);
      expect((await client(user).channel(url)).outOfSync, user).toBeUndefined();
    }
    // Nothing more to renew: a later sync commits no other key update.
    expect((await client("rolf").sync()).events.filter((e) => e.type === "key-update-submitted")).toEqual([]);

    await client("rolf").send(url, "renewed and still here");
    for (const reader of ["renata", "rosa"]) {
      await syncUntil(reader, "rolf's message", async () =>
        (await texts(reader, url)).includes("renewed and still here"),
      );
      const message = (await client(reader).messages(url)).messages.find(
        (m) => m.content === "renewed and still here",
      );
      expect(message?.senderUri, reader).toBe("acct:rolf@b.test");
    }
    await client("rosa").send(url, "welcome back");
    for (const reader of ["renata", "rolf"]) {
      await syncUntil(reader, "rosa's message", async () =>
        (await texts(reader, url)).includes("welcome back"),
      );
    }
  }, 240_000);

  it("refuses a member's key update that puts another member's certificate in their leaf; nothing changes", async () => {
    const epoch = await epochOf("renata", url);
    const leaves = await leafCertificates("renata", url);
    // rosa's client never would: her stored group state commits a leaf carrying renata's certificate.
    const renata = await client("renata").device();
    if (!renata) throw new Error("renata has no device");
    const state = await clients.storedChannelState("rosa", (await client("rosa").channel(url)).id);
    const hijack = await selfUpdate(state, await loadCiphersuite(), {
      credential: x509Credential(
        renata.credentialChain.map((der) => new Uint8Array(Buffer.from(der, "base64"))),
      ),
    });
    const rosa = await client("rosa").account();
    const api = new ProviderApi({ server: deployment.server("c.test") }).withToken(rosa.token);
    const activity = {
      "@context": ACTIVITY_CONTEXT,
      id: newActivityId(rosa.actor),
      type: "Update",
      actor: rosa.actor,
      target: url,
      to: [`${url}/followers`],
      object: { type: "mimi:KeyUpdate", "mimi:member": rosa.actor },
      "mimi:commit": toWireObject(hijack.commit),
      "mimi:groupInfo": toWireObject(hijack.groupInfo),
    };
    await api.postActivity("rosa", activity);

    const deadline = Date.now() + 30_000;
    let reject: Record<string, unknown> | undefined;
    while (!reject) {
      reject = (await client("rosa").inbox({ limit: 500 })).find(
        (item) => item.activity.type === "Reject" && item.activity.object === activity.id,
      )?.activity;
      if (Date.now() > deadline) throw new Error("rosa: no Reject of the hijacking key update");
      if (!reject) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(reject).toMatchObject({ "mimi:reason": "credentialChanged", "mimi:currentEpoch": epoch });

    await client("renata").sync();
    expect(await epochOf("renata", url)).toBe(epoch);
    expect(await leafCertificates("renata", url)).toEqual(leaves);
    await client("rosa").send(url, "still myself");
    await syncUntil("renata", "rosa's message", async () =>
      (await texts("renata", url)).includes("still myself"),
    );
    const message = (await client("renata").messages(url)).messages.find((m) => m.content === "still myself");
    expect(message?.senderUri).toBe("acct:rosa@c.test");
  }, 120_000);
});
