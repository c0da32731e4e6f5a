import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { signProofOfPossession } from "@mimi/credentials";
import {
  acceptAnyCredential,
  decodeClientState,
  loadCiphersuite,
  roster,
  selfUpdate,
  toWireObject,
  x509Credential,
} from "@mimi/mls";
import { beforeAll, describe, expect, it } from "vitest";
import { ProviderApi } from "../src/api.js";
import type { ClientEvent } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, channelWith, type TestAccount } from "./helpers.js";

/**
 * A forwarded key update whose new leaf names another member (a certificate for the committer's key
 * naming alice's acct and client, as a provider could be made to issue): alice's client refuses to
 * apply it even though the channel passed it on, and keeps the leaf's identity as it was.
 */
let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

const skippedReasons = (events: ClientEvent[]) =>
  events.flatMap((event) => (event.type === "skipped" ? [event.reason] : []));

async function storedState(account: TestAccount, channelId: string) {
  const file = join(account.home, "accounts", account.handle, "channels", `${channelId}.json`);
  const record = JSON.parse(await readFile(file, "utf8")) as { state: string };
  const decoded = decodeClientState(new Uint8Array(Buffer.from(record.state, "base64")), acceptAnyCredential);
  if (!decoded.ok) throw new Error(decoded.detail);
  return decoded.state;
}

describe("a forwarded commit that gives a leaf another member's identity", () => {
  it("is refused by a member's client even when the channel passes it on; the leaf keeps its identity", async () => {
    network.acceptKeyUpdates = true;
    try {
      const alice = await accountWithDevice(network, "alice@a.test");
      const bob = await accountWithDevice(network, "bob@b.test");
      const url = await channelWith("hijack", alice, bob);
      const channelId = (await bob.client.channel(url)).id;
      const bobsState = await storedState(bob, channelId);
      const identities = async () =>
        roster(await storedState(alice, channelId)).map((member) => member.credential);
      const before = await identities();

      // A valid certificate naming alice and her client, for bob's signature key.
      const aliceDevice = await alice.client.device();
      const bobDevice = await bob.client.device();
      if (!aliceDevice || !bobDevice) throw new Error("no device");
      const api = new ProviderApi({
        server: "http://a.test",
        token: (await alice.client.account()).token,
        fetch: network.fetch,
      });
      const challenge = await api.credentialChallenge(aliceDevice.clientId);
      const issued = await api.issueCredential(aliceDevice.clientId, {
        challenge: challenge.challenge,
        signaturePublicKey: bobDevice.signaturePublicKey,
        signature: Buffer.from(
          signProofOfPossession(
            new Uint8Array(Buffer.from(bobDevice.signaturePrivateKey, "base64")),
            challenge,
          ),
        ).toString("base64"),
      });
      const hijack = await selfUpdate(bobsState, await loadCiphersuite(), {
        credential: x509Credential(issued.chain.map((der) => new Uint8Array(Buffer.from(der, "base64")))),
      });

      // bob's genuine key update is accepted; its forward to alice is held back and replaced by the hijack.
      const captured: Record<string, unknown>[] = [];
      network.deliveryFate = (recipient, activity) => {
        if (recipient !== alice.actor || activity.type !== "Update") return "deliver";
        captured.push(activity);
        return "drop";
      };
      await bob.client.rotateKeys(url);
      expect((await bob.client.waitForChannel(url)).settled).toBe(true);
      network.deliveryFate = () => "deliver";
      const forward = captured[0];
      if (!forward) throw new Error("no forward captured");
      network.deliver(alice.actor, { ...forward, "mimi:commit": toWireObject(hijack.commit) }, url);

      const round = await alice.client.sync();
      expect(skippedReasons(round.events).join("\n")).toMatch(/changed its credential/);
      expect(round.events.map((event) => event.type)).not.toContain("keys-updated");
      expect(await identities()).toEqual(before);
      expect((await alice.client.channel(url)).epoch).toBe(1);
    } finally {
      network.acceptKeyUpdates = false;
      network.deliveryFate = () => "deliver";
    }
  });
});
