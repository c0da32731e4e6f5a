import { blockTarget, listBlocks, ProviderApi, type StateStore, unblockTarget } from "@mimi/client";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";

const BLOCK_USAGE = "mimi block <user@domain | domain>";
const UNBLOCK_USAGE = "mimi unblock <user@domain | domain>";

async function apiOf(io: Io, state: StateStore, handle: string | undefined): Promise<ProviderApi> {
  const account = await state.resolveAccount(handle);
  const connectTo = io.env.MIMI_DEV_CONNECT_TO;
  return new ProviderApi({
    server: account.server,
    token: account.token,
    ...(connectTo ? { connectTo } : {}),
  });
}

/** `mimi block <user@domain | domain>`: they can no longer add you to channels or write to you. */
export async function blockCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  const [target] = args;
  if (!target || args.length !== 1) throw new UsageError(BLOCK_USAGE);
  const blocked = await blockTarget(await apiOf(io, state, handle), target);
  const what =
    blocked.kind === "domain" ? line`${blocked.target} and its subdomains` : line`${blocked.target}`;
  io.out(blocked.created ? line`blocked ${what}` : line`${what} was blocked already`);
}

/** `mimi unblock <user@domain | domain>`. */
export async function unblockCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  const [target] = args;
  if (!target || args.length !== 1) throw new UsageError(UNBLOCK_USAGE);
  await unblockTarget(await apiOf(io, state, handle), target);
  io.out(line`unblocked ${target}`);
}

/** `mimi blocks`: who and which domains you blocked. */
export async function blocksCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  if (args.length > 0) throw new UsageError("mimi blocks");
  const blocks = await listBlocks(await apiOf(io, state, handle));
  if (blocks.length === 0) {
    io.out(line`nobody blocked`);
    return;
  }
  for (const block of blocks) io.out(line`${block.target}  (${block.kind === "domain" ? "domain" : "user"})`);
}
