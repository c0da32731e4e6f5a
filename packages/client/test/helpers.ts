import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MimiClient } from "../src/mimi-client.js";
import { StateStore } from "../src/state.js";
import type { FakeNetwork } from "./fake-provider.js";

/** An account on the fake network with its own MIMI_HOME, and an SDK client for it. */
export async function newAccount(network: FakeNetwork, handle: string, root?: string) {
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
  const client = new MimiClient({ home, fetch: network.fetch, keyPackageTarget: 3, keyPackageThreshold: 2 });
  return { home, handle, actor, client };
}

export const texts = (messages: { content: string }[]) => messages.map((m) => m.content);
