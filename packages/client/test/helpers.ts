import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { MimiClientOptions } from "../src/client-types.js";
import { MimiClient } from "../src/mimi-client.js";
import { StateStore } from "../src/state.js";
import type { FakeNetwork } from "./fake-provider.js";

/** An account on the fake network with its own MIMI_HOME, and an SDK client for it. */
export async function newAccount(
  network: FakeNetwork,
  handle: string,
  root?: string,
  client: Partial<Pick<MimiClientOptions, "fetch" | "keyPackageTarget" | "keyPackageThreshold">> = {},
) {
  const home = mkdtempSync(join(root ?? tmpdir(), "mimi-home-"));
  const [username = "", domain = ""] = handle.split("@");
  const { token, actor } = network.createUser(handle);
  await new StateStore(home).saveAccount({
    server: `http://${domain}`,
    username,
    acct: `acct:${handle}`,
    actor,
    token,
  });
  const sdk = new MimiClient({
    home,
    fetch: network.fetch,
    keyPackageTarget: 3,
    keyPackageThreshold: 2,
    ...client,
  });
  return { home, handle, actor, client: sdk };
}

export const texts = (messages: { content: string }[]) => messages.map((m) => m.content);

export type TestAccount = Awaited<ReturnType<typeof newAccount>>;

/** A new account on the fake network with a device whose KeyPackages were uploaded. */
export async function accountWithDevice(network: FakeNetwork, handle: string): Promise<TestAccount> {
  const account = await newAccount(network, handle);
  expect((await account.client.addDevice("laptop")).keyPackages.ok).toBe(true);
  return account;
}

/** `creator` creates a channel and adds `others`; every one of them has joined when it returns its URL. */
export async function channelWith(
  name: string,
  creator: TestAccount,
  ...others: TestAccount[]
): Promise<string> {
  const created = await creator.client.createChannel(name);
  expect((await creator.client.waitForChannel(created.url)).settled).toBe(true);
  for (const other of others) {
    await creator.client.addMember(created.url, other.handle);
    expect((await creator.client.waitForChannel(created.url)).settled).toBe(true);
    expect((await other.client.sync()).events.map((e) => e.type)).toContain("joined");
  }
  return created.url;
}
