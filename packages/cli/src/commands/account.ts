import { ProviderApi, type StateStore } from "@mimi/client";
import { clientFor } from "../client.js";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";
import { defaultDeviceName, registerDevice } from "./device.js";

export const ACCOUNT_USAGE =
  "mimi account create|login <user> --server <url>  |  mimi account use <user@domain>  |  mimi account password|sessions";

/**
 * `mimi account create <user> --server <url>`, `mimi account login <user> --server <url>` and
 * `mimi account use <user@domain>`; `password` and `sessions` are run by `accountSessionCommand`.
 */
export async function accountCommand(
  args: string[],
  flags: Record<string, string | boolean>,
  io: Io,
  state: StateStore,
) {
  const [action, username] = args;
  const server = typeof flags.server === "string" ? flags.server : undefined;
  if ((action !== "create" && action !== "login" && action !== "use") || !username) {
    throw new UsageError(ACCOUNT_USAGE);
  }
  if (action === "use") {
    await state.useAccount(username);
    io.out(line`now using ${username}`);
    return;
  }
  if (!server) throw new UsageError(`mimi account ${action} <user> --server <url>`);
  // `--server http://a.test` reaches a mapped development name like every other request does.
  const connectTo = io.env.MIMI_DEV_CONNECT_TO;
  const api = new ProviderApi({ server, ...(connectTo ? { connectTo } : {}) });
  const password = await io.readSecret(line`password for ${username}: `);
  if (!password) throw new UsageError("a password is required (prompted, or MIMI_PASSWORD)");
  const token =
    action === "create"
      ? (await api.createAccount(username, password)).token
      : (await api.createToken(username, password)).token;
  const me = await api.withToken(token).me();
  const handle = await state.saveAccount({
    server: api.server,
    username: me.username,
    acct: me.acct,
    actor: me.actor,
    token,
  });
  io.out(action === "create" ? line`created ${handle} (${me.actor})` : line`logged in as ${handle}`);
  if (action !== "create") return;
  // A new user can be added to channels right away: this MIMI_HOME becomes the first device.
  const client = clientFor(io, handle);
  try {
    await registerDevice(io, client, typeof flags.device === "string" ? flags.device : defaultDeviceName());
  } finally {
    await client.close();
  }
}
