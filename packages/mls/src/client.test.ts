import type { CiphersuiteImpl, ClientState } from "ts-mls";
import { beforeAll, describe, expect, it } from "vitest";
import {
  acceptAnyCredential,
  basicCredential,
  commit,
  createGroup,
  createKeyPackage,
  decodeClientState,
  decodeKeyPackage,
  encodeClientState,
  encodeKeyPackage,
  encryptApplicationMessage,
  fromWireObject,
  generateSignatureKeyPair,
  joinFromWelcome,
  ownLeafIndex,
  processIncoming,
  readKeyPackage,
  roster,
  toWireObject,
  x509Credential,
} from "./client.js";
import { loadCiphersuite } from "./crypto.js";
import { identityOf, makeTestClient, rejectIdentities } from "./test-support.js";

const text = (s: string) => new TextEncoder().encode(s);

describe("key packages and credentials", () => {
  let cs: CiphersuiteImpl;
  beforeAll(async () => {
    cs = await loadCiphersuite();
  });

  it("marks last-resort KeyPackages and round-trips them as MLSMessage", async () => {
    const signatureKeyPair = await generateSignatureKeyPair(cs);
    const { keyPackage } = await createKeyPackage({
      credential: basicCredential("alice"),
      signatureKeyPair,
      cipherSuite: cs,
      lastResort: true,
      nowSeconds: 1_000_000,
      validForSeconds: 100,
    });
    const info = readKeyPackage(keyPackage);
    expect(info.lastResort).toBe(true);
    expect(info.notAfter).toBe(1_000_100n);
    expect(info.signaturePublicKey).toEqual(signatureKeyPair.publicKey);
    const decoded = decodeKeyPackage(encodeKeyPackage(keyPackage));
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(readKeyPackage(decoded.keyPackage).lastResort).toBe(true);
    const plain = await createKeyPackage({
      credential: basicCredential("alice"),
      signatureKeyPair,
      cipherSuite: cs,
    });
    expect(readKeyPackage(plain.keyPackage).lastResort).toBe(false);
  });

  it("carries an X.509 chain as the credential", async () => {
    const chain = [Uint8Array.of(0x30, 0x03, 1, 2, 3), Uint8Array.of(0x30, 0x01, 9)];
    const { keyPackage } = await createKeyPackage({
      credential: x509Credential(chain),
      signatureKeyPair: await generateSignatureKeyPair(cs),
      cipherSuite: cs,
    });
    const decoded = decodeKeyPackage(encodeKeyPackage(keyPackage));
    if (!decoded.ok) throw new Error(decoded.detail);
    const credential = readKeyPackage(decoded.keyPackage).credential;
    expect(credential.credentialType).toBe("x509");
    if (credential.credentialType === "x509") expect(credential.certificates).toEqual(chain);
    expect(() => x509Credential([])).toThrow();
  });
});

describe("group messaging", () => {
  let caching: CiphersuiteImpl;
  let plain: CiphersuiteImpl;
  let alice: ClientState;
  let bob: ClientState;

  beforeAll(async () => {
    caching = await loadCiphersuite(undefined, "caching");
    plain = await loadCiphersuite(undefined, "default");
    const a = await makeTestClient("alice", caching);
    const b = await makeTestClient("bob", plain);
    alice = await createGroup({
      groupId: text("g"),
      keyPackage: a.keyPackage,
      privateKeyPackage: a.privateKeyPackage,
      cipherSuite: caching,
      validateCredential: acceptAnyCredential,
    });
    const added = await commit(alice, caching, { add: [b.keyPackage] });
    alice = added.newState;
    if (added.welcome === undefined) throw new Error("no welcome");
    const refused = await joinFromWelcome({
      welcome: added.welcome,
      keyPackage: b.keyPackage,
      privateKeyPackage: b.privateKeyPackage,
      cipherSuite: plain,
      validateCredential: rejectIdentities("alice"),
    });
    expect(refused.ok ? "ok" : refused.reason).toBe("rejected");
    const joined = await joinFromWelcome({
      welcome: added.welcome,
      keyPackage: b.keyPackage,
      privateKeyPackage: b.privateKeyPackage,
      cipherSuite: plain,
      validateCredential: acceptAnyCredential,
    });
    if (!joined.ok) throw new Error(joined.detail);
    bob = joined.state;
  });

  it("lists the roster", () => {
    expect(roster(bob).map((m) => [m.leafIndex, identityOf(m.credential)])).toEqual([
      [0, "alice"],
      [1, "bob"],
    ]);
    expect(ownLeafIndex(bob)).toBe(1);
  });

  it("exchanges application messages between the caching and the default provider", async () => {
    const sent = await encryptApplicationMessage(alice, caching, text("hello bob"), text("meta"));
    alice = sent.newState;
    const received = await processIncoming(bob, plain, sent.message);
    if (!received.ok || received.kind !== "application") throw new Error("expected an application message");
    bob = received.newState;
    expect(new TextDecoder().decode(received.data)).toBe("hello bob");
    expect(new TextDecoder().decode(received.authenticatedData)).toBe("meta");
    // Who sent it comes from the group, not from anything the plaintext says.
    expect(received.sender.leafIndex).toBe(0);
    expect(identityOf(received.sender.credential)).toBe("alice");

    const reply = await encryptApplicationMessage(bob, plain, text("hi alice"));
    bob = reply.newState;
    const got = await processIncoming(alice, caching, reply.message);
    if (!got.ok || got.kind !== "application") throw new Error("expected an application message");
    alice = got.newState;
    expect(new TextDecoder().decode(got.data)).toBe("hi alice");
    expect([got.sender.leafIndex, identityOf(got.sender.credential)]).toEqual([1, "bob"]);
  });

  it("names the sender of a message from the previous epoch by that epoch's tree", async () => {
    const late = await encryptApplicationMessage(bob, plain, text("sent before the commit"));
    bob = late.newState;
    const update = await commit(alice, caching);
    alice = update.newState;
    const applied = await processIncoming(bob, plain, update.commit);
    if (!applied.ok) throw new Error(applied.detail);
    bob = applied.newState;
    const received = await processIncoming(alice, caching, late.message);
    if (!received.ok || received.kind !== "application") throw new Error("expected an application message");
    alice = received.newState;
    expect(identityOf(received.sender.credential)).toBe("bob");
  });

  it("rejects tampered ciphertext and messages for other groups", async () => {
    const sent = await encryptApplicationMessage(alice, caching, text("x"));
    alice = sent.newState;
    const tampered = sent.message.slice();
    const last = tampered.length - 1;
    tampered[last] = (tampered[last] ?? 0) ^ 1;
    const result = await processIncoming(bob, plain, tampered);
    expect(result.ok ? "ok" : result.reason).toBe("rejected");

    const other = await makeTestClient("carol", caching);
    const otherGroup = await createGroup({
      groupId: text("other"),
      keyPackage: other.keyPackage,
      privateKeyPackage: other.privateKeyPackage,
      cipherSuite: caching,
      validateCredential: acceptAnyCredential,
    });
    const foreign = await encryptApplicationMessage(otherGroup, caching, text("y"));
    const wrong = await processIncoming(bob, plain, foreign.message);
    expect(wrong.ok ? "ok" : wrong.reason).toBe("wrongGroup");
    const garbage = await processIncoming(bob, plain, Uint8Array.of(1, 2, 3));
    expect(garbage.ok ? "ok" : garbage.reason).toBe("malformed");
  });

  it("persists the client state and keeps working after decoding", async () => {
    const restored = decodeClientState(encodeClientState(bob), acceptAnyCredential);
    if (!restored.ok) throw new Error(restored.detail);
    bob = restored.state;
    const update = await commit(bob, plain);
    bob = update.newState;
    const applied = await processIncoming(alice, caching, update.commit);
    if (!applied.ok || applied.kind !== "commit") throw new Error("expected a commit");
    alice = applied.newState;
    expect(applied.epoch).toBe(bob.groupContext.epoch);
    const sent = await encryptApplicationMessage(alice, caching, text("after update"));
    const received = await processIncoming(bob, plain, sent.message);
    expect(
      received.ok && received.kind === "application" ? new TextDecoder().decode(received.data) : "",
    ).toBe("after update");
    expect(decodeClientState(Uint8Array.of(1, 2), acceptAnyCredential).ok).toBe(false);
  });

  it("wraps MLS messages in the ActivityPub wire object", async () => {
    const update = await commit(alice, caching);
    const wire = toWireObject(update.commit);
    expect(wire).toMatchObject({ type: "PublicMessage", mediaType: "message/mls", encoding: "base64" });
    const unwrapped = fromWireObject(JSON.parse(JSON.stringify(wire)), "PublicMessage");
    if (!unwrapped.ok) throw new Error(unwrapped.detail);
    expect(unwrapped.bytes).toEqual(update.commit);
    expect(toWireObject(update.groupInfo).type).toBe("GroupInfo");
    const mislabeled = fromWireObject({ ...wire, type: "Welcome" });
    expect(mislabeled.ok ? "ok" : mislabeled.reason).toBe("malformed");
    const wrongMedia = fromWireObject({ ...wire, mediaType: "text/plain" });
    expect(wrongMedia.ok).toBe(false);
    const unexpected = fromWireObject(wire, "Welcome");
    expect(unexpected.ok).toBe(false);
  });
});
