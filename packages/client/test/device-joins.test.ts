import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  basicCredential,
  createGroup,
  createGroupInfo,
  createKeyPackage,
  generateSignatureKeyPair,
  joinByExternalCommit,
  loadCiphersuite,
} from "@mimi/mls";
import { beforeAll, describe, expect, it } from "vitest";
import { AccountStore } from "../src/account-store.js";
import type { ChannelSummary } from "../src/client-types.js";
import type { AccountContext } from "../src/context.js";
import {
  channelsToJoin,
  DEVICE_TYPE,
  type DeviceJoins,
  deviceChangeEvent,
  deviceJoinActivity,
  deviceRemoveActivity,
  isDeviceActivity,
  loadJoins,
  noteChannelToJoin,
} from "../src/device/channel-joins.js";

const BOB = "https://b.example/users/bob";
const C1 = "https://a.example/channels/one";
const C2 = "https://b.example/channels/two";
const C3 = "https://c.example/channels/three";

function joins(partial: Partial<DeviceJoins>): DeviceJoins {
  return { listed: true, candidates: [], pending: [], refused: [], remembered: [], ...partial };
}

describe("which channels a new device joins", () => {
  it("are each account's own: one account's candidates never show in another's", async () => {
    // Only the store is read here; an account context is otherwise not needed.
    const accountIn = (name: string) =>
      ({
        store: new AccountStore(mkdtempSync(join(tmpdir(), `mimi-joins-${name}-`))),
      }) as unknown as AccountContext;
    const first = accountIn("first");
    const second = accountIn("second");
    expect(await noteChannelToJoin(first, C1)).toBe(true);
    expect((await loadJoins(first)).candidates).toEqual([C1]);
    expect((await loadJoins(second)).candidates).toEqual([]);
  });

  it("joins each candidate once: not one it holds, waits an answer for, or was refused", () => {
    const known = joins({
      candidates: [C1, C2, C3, C1],
      pending: [
        {
          channelUrl: C2,
          activityId: `${BOB}/activities/1`,
          newState: "",
          newEpoch: 3,
          name: "two",
          actors: {},
          logSequence: 4,
          attempts: 1,
          submittedAt: new Date(0).toISOString(),
        },
      ],
      refused: [
        { channelUrl: C3, reason: "you are not a member of this channel", at: new Date(0).toISOString() },
      ],
    });
    expect(channelsToJoin(known, new Set())).toEqual([C1]);
    expect(channelsToJoin(known, new Set([C1]))).toEqual([]);
  });
});

/** An external commit of bob's new device into alice's group (basic credentials). */
async function externalJoin() {
  const cs = await loadCiphersuite();
  const make = async (name: string) =>
    createKeyPackage({
      credential: basicCredential(name),
      signatureKeyPair: await generateSignatureKeyPair(cs),
      cipherSuite: cs,
    });
  const owner = await make("alice");
  const state = await createGroup({
    groupId: new TextEncoder().encode("device-event"),
    keyPackage: owner.keyPackage,
    privateKeyPackage: owner.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: async () => true,
  });
  const phone = await make("bob");
  const joined = await joinByExternalCommit({
    groupInfo: await createGroupInfo(state, cs),
    keyPackage: phone.keyPackage,
    privateKeyPackage: phone.privateKeyPackage,
    cipherSuite: cs,
    validateCredential: async () => true,
  });
  if (!joined.ok) throw new Error(joined.detail);
  return joined;
}

describe("device activities", () => {
  let output: Awaited<ReturnType<typeof externalJoin>>;
  beforeAll(async () => {
    output = await externalJoin();
  });

  it("are Add and Remove of a mimi:Device naming the submitter, through the channel", () => {
    const join = deviceJoinActivity(BOB, C1, output);
    expect(join).toMatchObject({
      type: "Add",
      actor: BOB,
      target: C1,
      to: [`${C1}/followers`],
      object: { type: DEVICE_TYPE, "mimi:member": BOB },
      "mimi:commit": { type: "PublicMessage" },
      "mimi:groupInfo": { type: "GroupInfo" },
    });
    expect(join.id.startsWith(`${BOB}/activities/`)).toBe(true);
    expect(deviceRemoveActivity(BOB, C1, output)).toMatchObject({
      type: "Remove",
      object: { type: DEVICE_TYPE },
    });
    expect(isDeviceActivity(join)).toBe(true);
    expect(isDeviceActivity({ type: "Add", object: BOB })).toBe(false);
  });

  it("show as the user's client added (the acct the joining credential names) or removed", async () => {
    const channel = { url: C1 } as ChannelSummary;
    // Basic credentials name no acct: the event still says whose device it is.
    expect(deviceChangeEvent(channel, "Add", output.commit, BOB)).toEqual({
      type: "member-added",
      channel,
      actor: BOB,
      accts: [],
      by: BOB,
    });
    expect(deviceChangeEvent(channel, "Remove", output.commit, BOB)).toMatchObject({
      type: "member-removed",
      actor: `a device of ${BOB}`,
    });
  });
});
