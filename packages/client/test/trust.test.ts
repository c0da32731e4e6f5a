import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  acceptAnyCredential,
  decodeClientState,
  encryptApplicationMessage,
  loadCiphersuite,
  toWireObject,
} from "@mimi/mls";
import { beforeAll, describe, expect, it } from "vitest";
import { createTextContent, encodeContent } from "../src/content/mimi-content.js";
import type { ClientEvent } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, channelWith, texts } from "./helpers.js";

/**
 * The client trusts the channel and MLS, not the envelope: what is about a channel counts only when the
 * channel delivered it, a commit that does not verify deletes nothing, the sender shown is the one MLS
 * authenticated, and a Welcome is joined only when the channel's log confirms it.
 */
let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test", "evil.test"]);
});

const withDevice = (handle: string) => accountWithDevice(network, handle);

const skippedReasons = (events: ClientEvent[]) =>
  events.flatMap((event) => (event.type === "skipped" ? [event.reason] : []));

describe("activities about a channel", () => {
  it("are ignored unless the channel itself delivered them", async () => {
    const alice = await withDevice("alice@a.test");
    const bob = await withDevice("bob@b.test");
    const url = await channelWith("lunch", alice, bob);
    const before = await bob.client.channel(url);
    const mallory = "http://evil.test/users/mallory";
    const forged = [
      { type: "Update", object: { type: "Service", id: url, name: "pwned" } },
      { type: "Remove", object: bob.actor, "mimi:commit": { type: "PublicMessage" } },
      { type: "Create", object: { type: "PrivateMessage", mediaType: "message/mls", content: "AA==" } },
    ];
    for (const [index, fields] of forged.entries()) {
      // Signed by mallory, or by alice herself: either way not the channel's delivery.
      for (const deliveredBy of [mallory, alice.actor]) {
        network.deliver(
          bob.actor,
          {
            id: `${mallory}/activities/forged-${index}`,
            actor: deliveredBy === mallory ? mallory : alice.actor,
            target: url,
            to: [`${url}/followers`],
            ...fields,
          },
          deliveredBy,
        );
      }
    }
    network.deliver(
      bob.actor,
      { id: `${mallory}/activities/accept`, type: "Accept", actor: url, object: "x" },
      mallory,
    );
    const round = await bob.client.sync();
    expect(skippedReasons(round.events)).toHaveLength(forged.length * 2 + 1);
    expect(
      skippedReasons(round.events).every((reason) => /did not deliver|not by the channel/.test(reason)),
    ).toBe(true);
    expect(await bob.client.channel(url)).toEqual(before);
  });

  it("a Remove whose commit does not verify deletes nothing and is reported", async () => {
    const alice = await withDevice("alice2@a.test");
    const bob = await withDevice("bob2@b.test");
    const url = await channelWith("desk", alice, bob);
    // Some other group's genuine commit, passed off as the channel's removal of bob.
    const elsewhere = await channelWith("elsewhere", alice);
    await alice.client.addMember(elsewhere, "bob2@b.test");
    const stolen = network.channels.get(elsewhere)?.log.at(-1)?.activity;
    expect(stolen?.type).toBe("Add");
    network.deliver(
      bob.actor,
      {
        id: `${alice.actor}/activities/bad-remove`,
        type: "Remove",
        actor: alice.actor,
        object: bob.actor,
        target: url,
        to: [`${url}/followers`],
        "mimi:commit": stolen?.["mimi:commit"],
      },
      url,
    );
    const round = await bob.client.sync();
    expect(round.events.map((event) => event.type)).not.toContain("left");
    expect(skippedReasons(round.events).join("\n")).toMatch(/cannot apply the Remove commit yet/);
    expect(await bob.client.channel(url)).toMatchObject({ status: "active", epoch: 1 });
    await alice.client.send(url, "still together");
    await bob.client.sync();
    expect(texts((await bob.client.messages(url)).messages)).toContain("still together");
  });
});

describe("who sent a message", () => {
  it("is the member MLS authenticated: a plaintext claiming someone else is not shown as them", async () => {
    const alice = await withDevice("alice3@a.test");
    const bob = await withDevice("bob3@b.test");
    const carol = await withDevice("carol3@b.test");
    const url = await channelWith("door", alice, bob, carol);
    await bob.client.sync();
    const record = JSON.parse(
      await readFile(
        join(bob.home, "accounts", "bob3@b.test", "channels", `${(await bob.client.channel(url)).id}.json`),
        "utf8",
      ),
    ) as { state: string };
    const decoded = decodeClientState(
      new Uint8Array(Buffer.from(record.state, "base64")),
      acceptAnyCredential,
    );
    if (!decoded.ok) throw new Error(decoded.detail);
    const content = createTextContent({
      senderUri: "acct:alice3@a.test",
      roomUri: url,
      text: "send the door code to bob",
    });
    const encrypted = await encryptApplicationMessage(
      decoded.state,
      await loadCiphersuite(),
      encodeContent(content),
    );
    const response = await network.fetch("http://b.test/users/bob3/outbox", {
      method: "POST",
      headers: {
        "content-type": "application/activity+json",
        authorization: `Bearer ${(await bob.client.account()).token}`,
      },
      body: JSON.stringify({
        id: `${bob.actor}/activities/impersonation`,
        type: "Create",
        actor: bob.actor,
        object: toWireObject(encrypted.message),
        target: url,
        to: [`${url}/followers`],
      }),
    });
    expect(response.status).toBe(202);
    for (const member of [alice, carol]) {
      const round = await member.client.sync();
      expect(skippedReasons(round.events).join("\n")).toMatch(
        /claiming to come from alice3@a\.test was sent by bob3@b\.test/,
      );
      expect(texts((await member.client.messages(url)).messages)).not.toContain("send the door code to bob");
    }
    // An honest message is attributed by its credential.
    await bob.client.send(url, "hello");
    const round = await carol.client.sync();
    expect(round.events).toContainEqual(
      expect.objectContaining({
        type: "message",
        message: expect.objectContaining({
          senderUri: "acct:bob3@b.test",
          actor: bob.actor,
          content: "hello",
        }),
      }),
    );
  });
});

describe("a Welcome", () => {
  it("is joined only when the channel delivered it and its log confirms the Add", async () => {
    const alice = await withDevice("alice4@a.test");
    const bob = await withDevice("bob4@b.test");
    const url = await channelWith("secret", alice);
    // Capture the channel's forward of the Add to bob, instead of delivering it.
    const captured: Record<string, unknown>[] = [];
    network.deliveryFate = (recipient, activity) => {
      if (recipient === bob.actor && activity.type === "Add") {
        captured.push(activity);
        return "drop";
      }
      return "deliver";
    };
    try {
      await alice.client.addMember(url, bob.handle);
      expect((await alice.client.waitForChannel(url)).settled).toBe(true);
    } finally {
      network.deliveryFate = () => "deliver";
    }
    const add = captured[0];
    if (!add) throw new Error("no Add captured");
    const keyPackagesBefore = (await bob.client.device())?.keyPackages.length;

    // The genuine Welcome, delivered by someone other than the channel.
    network.deliver(bob.actor, add, "http://evil.test/users/mallory");
    // The genuine Welcome "from the channel", but as an Add the channel never logged.
    network.deliver(bob.actor, { ...add, id: `${alice.actor}/activities/unlogged` }, url);
    const refused = await bob.client.sync();
    expect(refused.events.map((event) => event.type)).not.toContain("joined");
    expect(skippedReasons(refused.events).join("\n")).toMatch(/does not confirm this Welcome/);
    expect(await bob.client.channels()).toEqual([]);
    expect((await bob.client.device())?.keyPackages.length).toBe(keyPackagesBefore);

    // The channel's own delivery of the logged Add.
    network.deliver(bob.actor, add, url);
    const joined = await bob.client.sync();
    expect(joined.events.map((event) => event.type)).toContain("joined");
    expect(await bob.client.channel(url)).toMatchObject({ name: "secret", status: "active" });
  });
});

describe("roles", () => {
  it("are shown with the members and changed by the owner", async () => {
    const alice = await withDevice("alice5@a.test");
    const bob = await withDevice("bob5@b.test");
    const carol = await withDevice("carol5@b.test");
    const url = await channelWith("ops", alice, bob, carol);
    const roleOf = async (handle: string) =>
      (await alice.client.members(url)).members.find((member) => member.acct === `acct:${handle}`)?.role;
    expect(await roleOf("alice5@a.test")).toBe("owner");
    expect(await roleOf("bob5@b.test")).toBe("member");
    await alice.client.setRole(url, "bob5@b.test", "admin");
    expect(await roleOf("bob5@b.test")).toBe("admin");
    const seen = await carol.client.sync();
    expect(seen.events).toContainEqual(
      expect.objectContaining({ type: "role-changed", actor: bob.actor, role: "admin", by: alice.actor }),
    );
    const accepted = await alice.client.sync();
    expect(accepted.events).toContainEqual(expect.objectContaining({ type: "accepted", what: "role" }));

    // A member may neither change roles nor rename; the refusal reaches them, and the name they saw
    // at once goes back.
    const refused = await carol.client.setRole(url, "alice5@a.test", "member");
    await carol.client.rename(url, "carol's now");
    const answers = await carol.client.sync();
    expect(answers.events).toContainEqual(
      expect.objectContaining({ type: "rejected", what: "role", activityId: refused.activityId }),
    );
    expect(answers.events).toContainEqual(
      expect.objectContaining({
        type: "rejected",
        what: "rename",
        reason: expect.stringMatching(/owner or an admin/),
      }),
    );
    expect((await carol.client.channel(url)).name).toBe("ops");
  });
});
