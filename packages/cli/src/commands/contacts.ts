import {
  acceptInvite,
  blockTarget,
  consentRequired,
  declineInvite,
  listBlocks,
  listInvites,
  ProviderApi,
  type StateStore,
  setConsentRequired,
  unblockTarget,
} from "@mimi/client";
import { shortTime } from "../format.js";
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

const CONSENT_USAGE = "mimi account consent [on|off]";

/**
 * `mimi account consent on|off`: whether adds by people who are not yet your contacts wait for your
 * consent (`mimi invites`, `mimi accept`); without an argument, shows the setting.
 */
export async function consentCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  const [value] = args;
  if (args.length > 1 || (value !== undefined && value !== "on" && value !== "off"))
    throw new UsageError(CONSENT_USAGE);
  const api = await apiOf(io, state, handle);
  const required =
    value === undefined ? await consentRequired(api) : await setConsentRequired(api, value === "on");
  io.out(
    required
      ? line`consent is on: people who are not yet your contacts wait for you to accept (mimi invites)`
      : line`consent is off: anyone may add you to a channel`,
  );
}

/** `mimi invites`: who asked to add you while consent was on, newest first. */
export async function invitesCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  if (args.length > 0) throw new UsageError("mimi invites");
  const invites = await listInvites(await apiOf(io, state, handle));
  if (invites.length === 0) {
    io.out(line`no invites`);
    return;
  }
  for (const invite of invites)
    io.out(line`${invite.handle}  asked ${shortTime(Date.parse(invite.requestedAt))}  ${invite.requester}`);
}

/** `mimi accept <user@domain>`: they become a contact; their add goes through when they try again. */
export async function acceptCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  const [requester] = args;
  if (!requester || args.length !== 1) throw new UsageError("mimi accept <user@domain>");
  await acceptInvite(await apiOf(io, state, handle), requester);
  io.out(line`accepted ${requester}: they are a contact now, and may add you`);
}

/** `mimi decline <user@domain>`: drops their invite. */
export async function declineCommand(args: string[], io: Io, state: StateStore, handle?: string) {
  const [requester] = args;
  if (!requester || args.length !== 1) throw new UsageError("mimi decline <user@domain>");
  await declineInvite(await apiOf(io, state, handle), requester);
  io.out(line`declined ${requester}`);
}
