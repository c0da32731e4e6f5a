import { createDomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import { createKeyPackage, generateSignatureKeyPair, loadCiphersuite, x509Credential } from "@mimi/mls";
import { describe, expect, it } from "vitest";
import type { ChannelRecord } from "../src/account-store.js";
import { createTextContent, encodeContent } from "../src/content/mimi-content.js";
import { checkActive, checkChangeable, pickByIdOrName } from "../src/conversation/directory.js";
import { checkReceivedContent } from "../src/conversation/received-content.js";
import {
  actorNamedByClaim,
  keyPackagesStillMissing,
  keyPackagesToAdd,
  rolesOf,
} from "../src/conversation/roster.js";
import { summaryOf } from "../src/conversation/session.js";
import { keyPackageWireBytes, toBase64 } from "../src/mls-wire.js";

const room = "http://a.test/channels/abc";
const activity = "http://b.test/users/bob/activities/1";

describe("a decrypted message", () => {
  const plaintext = (senderUri: string, roomUri = room) =>
    encodeContent(createTextContent({ senderUri, roomUri, text: "hi" }));

  it("is shown from the member whose signature MLS verified", () => {
    const checked = checkReceivedContent(plaintext("acct:bob@b.test"), room, "acct:bob@b.test", activity);
    expect(checked.ok && checked.sender).toBe("acct:bob@b.test");
    expect(checked.ok && checked.facts).toMatchObject({ format: "mimi", kind: "message", content: "hi" });
  });

  it("is not shown when its plaintext claims another sender", () => {
    expect(
      checkReceivedContent(plaintext("acct:alice@a.test"), room, "acct:mallory@evil.test", activity),
    ).toEqual({
      ok: false,
      reason: "a message claiming to come from alice@a.test was sent by mallory@evil.test; not shown",
    });
  });

  it("is not shown when the sending leaf's credential names no account", () => {
    expect(checkReceivedContent(plaintext("acct:bob@b.test"), room, undefined, activity)).toEqual({
      ok: false,
      reason: "the sender's credential names no account",
    });
  });

  it("is not shown in a channel it was not written for, nor when it is not content", () => {
    expect(
      checkReceivedContent(
        plaintext("acct:bob@b.test", "http://a.test/channels/other"),
        room,
        "acct:bob@b.test",
        activity,
      ),
    ).toEqual({ ok: false, reason: "the message names another channel" });
    // A CBOR array of 7 is read as MIMI content, strictly.
    expect(
      checkReceivedContent(Uint8Array.of(0x87, 1, 2, 3, 4, 5, 6, 7), room, "acct:bob@b.test", activity),
    ).toEqual({ ok: false, reason: "bad MIMI content: salt must be a byte string" });
  });
});

describe("a claim answer", () => {
  it("adds only KeyPackages whose credential names the claimed account, of devices not in the group", async () => {
    const cs = await loadCiphersuite();
    const keyPackageOf = async (user: string, domain: string, clientId: string) => {
      const ca = await loadDomainCa(await createDomainCa(domain));
      const keys = await generateSignatureKeyPair(cs);
      const issued = await issueClientCertificate(ca, {
        user,
        domain,
        clientId,
        signaturePublicKey: keys.publicKey,
      });
      const bundle = await createKeyPackage({
        credential: x509Credential(issued.chainDer),
        signatureKeyPair: keys,
        cipherSuite: cs,
      });
      return toBase64(keyPackageWireBytes(bundle.keyPackage));
    };
    const laptop = await keyPackageOf("bob", "b.test", "laptop");
    const phone = await keyPackageOf("bob", "b.test", "phone");
    const mallory = await keyPackageOf("mallory", "evil.test", "m1");
    const items = [{ content: laptop }, { content: phone }, { content: mallory }, { content: "AAAA" }, {}];
    const added = keyPackagesToAdd(items, "acct:bob@b.test", new Set(["laptop"]));
    expect(added.map((keyPackage) => keyPackage.bytes)).toEqual([phone]);
    // A rebuilt Add skips the devices someone else added meanwhile.
    expect(keyPackagesStillMissing([laptop, phone], new Set(["phone"]))).toHaveLength(1);
  });

  it("names the claimed account's actor URL, and nothing that is not a URL", () => {
    expect(actorNamedByClaim({ actor: "http://b.test/users/bob" })).toBe("http://b.test/users/bob");
    expect(actorNamedByClaim({ "mimi:actor": "http://b.test/users/bob" })).toBe("http://b.test/users/bob");
    expect(actorNamedByClaim({ items: [{ attributedTo: "http://b.test/users/bob" }] })).toBe(
      "http://b.test/users/bob",
    );
    expect(actorNamedByClaim({ actor: "javascript:alert(1)" })).toBeUndefined();
    expect(actorNamedByClaim({})).toBeUndefined();
  });
});

describe("the roles a channel publishes", () => {
  it("are read per actor, leaving out anything malformed", () => {
    const roles = rolesOf({ "http://a.test/users/alice": "owner", "http://b.test/users/bob": "god", x: 1 });
    expect([...roles]).toEqual([["http://a.test/users/alice", "owner"]]);
    expect(rolesOf(["owner"]).size).toBe(0);
    expect(rolesOf(null).size).toBe(0);
  });
});

describe("finding a conversation", () => {
  const record = (id: string, name: string, fields: Partial<ChannelRecord> = {}): ChannelRecord => ({
    id,
    url: `http://a.test/channels/${id}`,
    name,
    status: "active",
    epoch: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    actors: {},
    logSequence: 0,
    seen: [],
    ...fields,
  });

  it("goes by id, else by a unique name among the channels not failed", () => {
    const records = [
      record("c1", "general"),
      record("c2", "team"),
      record("c3", "team", { status: "failed" }),
    ];
    expect(pickByIdOrName(records, "c2").id).toBe("c2");
    expect(pickByIdOrName(records, "team").id).toBe("c2");
    expect(() => pickByIdOrName([...records, record("c4", "team")], "team")).toThrow(
      "several channels are named team: use the channel's URL",
    );
    expect(() => pickByIdOrName(records, "nope")).toThrow("no channel named nope (see mimi channels)");
  });

  it("is ready for messages only once accepted and while a member, and for a change while none waits", () => {
    expect(() => checkActive(record("c1", "general"))).not.toThrow();
    expect(() => checkActive(record("c1", "general", { status: "left" }))).toThrow(
      "you are no longer a member of general",
    );
    expect(() => checkActive(record("c1", "general", { status: "failed", note: "taken" }))).toThrow(
      "channel general was not created: taken",
    );
    expect(() => checkActive(record("c1", "general", { createActivityId: "x" }))).toThrow(
      "is not accepted by its server yet",
    );
    const pending = {
      activityId: "x",
      kind: "add" as const,
      acct: "acct:bob@b.test",
      actor: "http://b.test/users/bob",
      keyPackages: [],
      newState: "",
      newEpoch: 2,
      attempts: 1,
      submittedAt: "2026-01-01T00:00:00.000Z",
    };
    expect(() => checkChangeable(record("c1", "general", { pending }))).toThrow(
      "a change to general is still waiting for the channel's answer",
    );
    expect(summaryOf(record("c1", "general", { pending })).waiting).toBe(true);
    expect(summaryOf(record("c1", "general")).waiting).toBe(false);
  });
});
