import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  acceptAnyCredential,
  decodeClientState,
  encodeClientState,
  encryptApplicationMessage,
  loadCiphersuite,
  toWireObject,
} from "@mimi/mls";
import { beforeAll, describe, expect, it } from "vitest";
import { createContent, encodeContent, nullPart, textPart } from "../src/content/mimi-content.js";
import { MimiClientError } from "../src/errors.js";
import type { ClientEvent } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, channelWith, type TestAccount } from "./helpers.js";
import { legacyPlaintext } from "./legacy-content.js";

/**
 * Replies, edits, reactions and deletions between members, and what arrives in other shapes: plain
 * text, bytes no one can read, the earlier JSON profile, and edits by someone other than the author.
 */
let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

type Account = TestAccount;
const withDevice = (handle: string) => accountWithDevice(network, handle);

/**
 * Sends `plaintext` as `member`'s device would, whatever it holds: encrypted with the member's own
 * MLS state (saved again, so the member's next message uses the next key) and posted to its outbox.
 */
async function sendPlaintext(member: Account, url: string, plaintext: Uint8Array): Promise<void> {
  const path = join(
    member.home,
    "accounts",
    member.handle,
    "channels",
    `${(await member.client.channel(url)).id}.json`,
  );
  const record = JSON.parse(await readFile(path, "utf8")) as { state: string };
  const decoded = decodeClientState(new Uint8Array(Buffer.from(record.state, "base64")), acceptAnyCredential);
  if (!decoded.ok) throw new Error(decoded.detail);
  const encrypted = await encryptApplicationMessage(decoded.state, await loadCiphersuite(), plaintext);
  record.state = Buffer.from(encodeClientState(encrypted.newState)).toString("base64");
  await writeFile(path, JSON.stringify(record));
  const response = await network.fetch(
    `http://${member.handle.split("@")[1]}/users/${member.handle.split("@")[0]}/outbox`,
    {
      method: "POST",
      headers: {
        "content-type": "application/activity+json",
        authorization: `Bearer ${(await member.client.account()).token}`,
      },
      body: JSON.stringify({
        id: `${member.actor}/activities/raw-${Math.random().toString(36).slice(2)}`,
        type: "Create",
        actor: member.actor,
        object: toWireObject(encrypted.message),
        target: url,
        to: [`${url}/followers`],
      }),
    },
  );
  expect(response.status).toBe(202);
}

const skippedReasons = (events: ClientEvent[]) =>
  events.flatMap((event) => (event.type === "skipped" ? [event.reason] : []));

describe("replies, edits, reactions and deletions", () => {
  it("reach the other members and show in place", async () => {
    const alice = await withDevice("alice@a.test");
    const bob = await withDevice("bob@b.test");
    const url = await channelWith("team", alice, bob);
    const question = await alice.client.send(url, "lunch at noon?");
    const typo = await alice.client.send(url, "bring an umbrela");
    expect(question.id).toMatch(/^01[0-9a-f]{62}$/);
    await bob.client.sync();
    const reply = await bob.client.send(url, "yes", { inReplyTo: question.id.slice(0, 8) });
    expect(reply.inReplyTo).toBe(question.id);
    await bob.client.react(url, question.id.slice(0, 6), "👍");
    const arrived = (await alice.client.sync()).events.flatMap((e) =>
      e.type === "message" ? [e.message] : [],
    );
    expect(arrived.map((m) => [m.kind, m.senderUri, m.content])).toEqual([
      ["message", "acct:bob@b.test", "yes"],
      ["reaction", "acct:bob@b.test", "👍"],
    ]);
    await alice.client.edit(url, typo.id, "bring an umbrella");
    await alice.client.deleteMessage(url, question.id);
    const bobSaw = (await bob.client.sync()).events.flatMap((e) => (e.type === "message" ? [e.message] : []));
    expect(bobSaw.map((m) => [m.kind, m.replaces])).toEqual([
      ["edit", typo.id],
      ["delete", question.id],
    ]);

    for (const member of [alice, bob]) {
      const { messages } = await member.client.messages(url);
      expect(messages.map((m) => [m.id, m.content])).toEqual([
        [question.id, ""],
        [typo.id, "bring an umbrella"],
        [reply.id, "yes"],
      ]);
      expect(messages[0]?.deletedAt).toBeDefined();
      expect(messages[0]?.reactions.map((r) => [r.senderUri, r.reaction])).toEqual([
        ["acct:bob@b.test", "👍"],
      ]);
      expect(messages[1]?.versions.map((v) => v.content)).toEqual(["bring an umbrela"]);
      expect(messages[2]?.inReplyTo).toBe(question.id);
    }
  });

  it("of someone else's message are refused by the SDK and, when forged, by every receiver", async () => {
    const alice = await withDevice("alice2@a.test");
    const bob = await withDevice("bob2@b.test");
    const url = await channelWith("pay", alice, bob);
    const order = await alice.client.send(url, "pay bob 5");
    await bob.client.sync();
    await expect(bob.client.edit(url, order.id, "pay bob 500")).rejects.toThrow(
      new MimiClientError(`you can only edit your own messages (${order.id} is alice2@a.test's)`),
    );
    await expect(bob.client.deleteMessage(url, order.id)).rejects.toThrow(
      /you can only delete your own messages/,
    );
    await expect(bob.client.react(url, order.id, "not one")).rejects.toThrow(/a reaction is one short text/);
    await expect(bob.client.send(url, "?", { inReplyTo: "ffff" })).rejects.toThrow("no message ffff in pay");

    // Bob's device sends the edit and the deletion anyway.
    const room = { senderUri: "acct:bob2@b.test", roomUri: url };
    await sendPlaintext(
      bob,
      url,
      encodeContent(createContent({ ...room, body: textPart("pay bob 500"), replaces: order.id })),
    );
    await sendPlaintext(
      bob,
      url,
      encodeContent(createContent({ ...room, body: nullPart(), replaces: order.id })),
    );
    // And the same content twice: the same id, which the draft says to discard.
    const again = encodeContent(createContent({ ...room, body: textPart("again") }));
    await sendPlaintext(bob, url, again);
    await sendPlaintext(bob, url, again);
    const round = await alice.client.sync();
    expect(skippedReasons(round.events)).toEqual([
      "bob2@b.test may not edit a message of alice2@a.test",
      "bob2@b.test may not delete a message of alice2@a.test",
      "a message with this id arrived already",
    ]);
    const { messages } = await alice.client.messages(url);
    expect(messages.map((m) => m.content)).toEqual(["pay bob 5", "again"]);
    // Bob's own view of the log (where his device stored nothing of the raw sends) agrees.
    expect((await bob.client.messages(url)).messages.map((m) => m.content)).toEqual(["pay bob 5"]);
  });
});

describe("a plaintext that is not MIMI content", () => {
  it("is shown as text when it is UTF-8, kept as unsupported otherwise, read when it is the earlier profile", async () => {
    const alice = await withDevice("alice3@a.test");
    const bob = await withDevice("bob3@b.test");
    const url = await channelWith("mixed", alice, bob);
    await sendPlaintext(bob, url, new TextEncoder().encode("plain words"));
    await sendPlaintext(bob, url, Uint8Array.of(0xa1, 0x00, 0xff));
    const legacy = legacyPlaintext({
      senderUri: "acct:bob3@b.test",
      roomUri: url,
      content: "from an older client",
    });
    await sendPlaintext(bob, url, legacy.bytes);
    // The earlier profile naming someone else is refused as before.
    await sendPlaintext(
      bob,
      url,
      legacyPlaintext({ senderUri: "acct:alice3@a.test", roomUri: url, content: "x" }).bytes,
    );
    const round = await alice.client.sync();
    expect(skippedReasons(round.events)).toEqual([
      "a message claiming to come from alice3@a.test was sent by bob3@b.test; not shown",
    ]);
    const { messages } = await alice.client.messages(url);
    expect(messages.map((m) => [m.senderUri, m.format, m.contentType, m.content, m.unsupported])).toEqual([
      ["acct:bob3@b.test", "text", "text/plain;charset=utf-8", "plain words", undefined],
      ["acct:bob3@b.test", "bytes", "application/octet-stream", "", { size: 3 }],
      ["acct:bob3@b.test", "json", "text/plain;charset=utf-8", "from an older client", undefined],
    ]);
    expect(messages[2]?.id).toBe(Buffer.from(legacy.id, "base64url").toString("hex"));
    // Every message can be answered, whatever it arrived as.
    const reply = await alice.client.send(url, "noted", { inReplyTo: messages[2]?.id ?? "" });
    expect(reply.inReplyTo).toBe(messages[2]?.id);
    await bob.client.sync();
    expect((await bob.client.messages(url)).messages.at(-1)).toMatchObject({
      content: "noted",
      inReplyTo: messages[2]?.id,
    });
  });
});
