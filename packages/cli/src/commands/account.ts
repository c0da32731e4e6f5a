import { type MimiClient, ProviderApi, type StateStore } from "@mimi/client";
import { clientFor } from "../client.js";
import { channelLabel } from "../format.js";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";
import { defaultDeviceName, registerDevice } from "./device.js";

export const ACCOUNT_USAGE =
  "mimi account create|login <user> --server <url>  |  mimi account use <user@domain>  |  mimi account password|sessions|delete";

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

/**
 * `mimi account delete`: the password (MIMI_PASSWORD or a prompt) confirms it. Every channel is left
 * first, waiting up to --wait seconds for each answer; a channel that refuses (one you own while
 * others remain) or does not answer is listed, and the account is deleted anyway.
 */
export async function accountDeleteCommand(io: Io, client: MimiClient, waitSeconds: number) {
  const handle = (await client.account()).acct.replace(/^acct:/, "");
  const password = await io.readSecret(line`password for ${handle} (to delete the account): `);
  if (!password) throw new UsageError("the password is required (prompted, or MIMI_PASSWORD)");
  const deletion = await client.deleteAccount(password, { leaveTimeoutMs: waitSeconds * 1000 });
  for (const { channel, outcome } of deletion.departures) {
    if (outcome.status === "left") io.out(line`left ${channelLabel(channel)}`);
    else if (outcome.status === "waiting")
      io.err(line`mimi: warning: ${channelLabel(channel)} has not answered your Leave`);
    else io.err(line`mimi: warning: could not leave ${channelLabel(channel)}: ${outcome.reason}`);
  }
  io.out(
    line`deleted ${handle}; the name can be registered again from ${deletion.quarantineUntil.slice(0, 10)}`,
  );
}
