import {
  basicCredential,
  createGroup,
  createGroupInfo,
  createKeyPackage,
  encryptApplicationMessage,
  generateSignatureKeyPair,
  loadCiphersuite,
} from "@mimi/mls";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkDmEnvelope,
  checkDmSender,
  createDmGroupActivity,
  dmMessageActivity,
  isDmMessage,
  type KnownDmGroup,
} from "./activities.js";
import { conversationKey } from "./conversation.js";

const ALICE = "https://a.example/users/alice";
const BOB = "https://b.example/users/bob";
const MALLORY = "https://m.example/users/mallory";
const G = "https://a.example/channels/q7Vt0QpWq2mK9oXb3l1f8A";
const P = ["acct:alice@a.example", "acct:bob@b.example"];
const group: KnownDmGroup = {
  url: G,
  participants: P,
  participantActors: new Map([
    ["acct:alice@a.example", ALICE],
    ["acct:bob@b.example", BOB],
  ]),
};
const groupOf = (url: string) => (url === G ? group : undefined);
/** A real GroupInfo and PrivateMessage of a one-leaf group (the activities carry whole MLS messages). */
let groupInfo: Uint8Array;
let bytes: Uint8Array;

beforeAll(async () => {
  const cs = await loadCiphersuite();
  const signatureKeyPair = await generateSignatureKeyPair(cs);
  const bundle = await createKeyPackage({
    credential: basicCredential("alice"),
    signatureKeyPair,
    cipherSuite: cs,
  });
  const state = await createGroup({
    groupId: Buffer.from("q7Vt0QpWq2mK9oXb3l1f8A", "base64url"),
    keyPackage: bundle.keyPackage,
    privateKeyPackage: bundle.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: async () => true,
  });
  groupInfo = await createGroupInfo(state, cs);
  bytes = (await encryptApplicationMessage(state, cs, new TextEncoder().encode("hi"))).message;
});

describe("a group DM's activities", () => {
  it("creates the DM group with its participants and key", () => {
    const create = createDmGroupActivity(ALICE, G, P, groupInfo);
    expect(create).toMatchObject({
      type: "Create",
      actor: ALICE,
      target: G,
      to: [`${G}/followers`],
      object: {
        type: "Service",
        id: G,
        "mimi:kind": "dm",
        "mimi:participants": P,
        "mimi:conversation": conversationKey(P),
      },
    });
    expect(create.object).not.toHaveProperty("name");
  });

  it("addresses a message to every participant, linked to the group by context", () => {
    const message = dmMessageActivity(BOB, group, bytes);
    expect(message).toMatchObject({ type: "Create", actor: BOB, context: G, to: [ALICE, BOB] });
    expect(message).not.toHaveProperty("target");
    expect(message.object.type).toBe("PrivateMessage");
    expect(isDmMessage(message)).toBe(true);
    expect(isDmMessage({ ...message, target: G })).toBe(false);
  });
});

describe("a received DM message", () => {
  const received = () => dmMessageActivity(BOB, group, bytes);

  it("is taken from its actor, a participant, to exactly the participants", () => {
    expect(checkDmEnvelope(received(), BOB, groupOf)).toEqual({ ok: true, group, actor: BOB });
  });

  it("is refused when anyone else delivered it, or its group or recipients do not match", () => {
    const reasonOf = (activity: Record<string, unknown>, deliveredBy: string | undefined) => {
      const checked = checkDmEnvelope(activity, deliveredBy, groupOf);
      return checked.ok ? "ok" : checked.reason;
    };
    expect(reasonOf(received(), MALLORY)).toContain("not by its actor");
    expect(reasonOf(received(), undefined)).toContain("not by its actor");
    expect(reasonOf({ ...received(), actor: MALLORY }, MALLORY)).toContain("not a participant");
    expect(reasonOf({ ...received(), context: `${G}x` }, BOB)).toContain("which we do not hold");
    expect(reasonOf({ ...received(), to: [BOB] }, BOB)).toContain("another set");
    expect(reasonOf({ ...received(), to: [ALICE, BOB, MALLORY] }, BOB)).toContain("another set");
    expect(reasonOf({ ...received(), to: [BOB, BOB] }, BOB)).toContain("another set");
  });

  it("is shown as from the acct of its MLS credential, which must be the envelope's participant", () => {
    expect(checkDmSender(group, BOB, "acct:Bob@b.example")).toEqual({
      ok: true,
      sender: "acct:bob@b.example",
    });
    expect(checkDmSender(group, BOB, "acct:alice@a.example")).toMatchObject({ ok: false });
    expect(checkDmSender(group, BOB, "acct:mallory@m.example")).toMatchObject({ ok: false });
  });
});
