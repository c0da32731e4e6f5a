import type { MimiClient, StateStore } from "@mimi/client";
import { shortTime } from "../format.js";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";

const LOGOUT_USAGE = "mimi logout [--everywhere | --session <id>]";

/**
 * `mimi logout`: this session; `--everywhere`: every session of the account (other devices too);
 * `--session <id>`: one session `mimi account sessions` lists. The account's folder (device,
 * channels, messages) stays, so `mimi account login` carries on where it stopped.
 */
export async function logoutCommand(
  args: string[],
  flags: Record<string, string | boolean>,
  io: Io,
  client: MimiClient,
) {
  const session = flags.session;
  if (args.length > 0 || session === true || (flags.everywhere === true && session !== undefined))
    throw new UsageError(LOGOUT_USAGE);
  const handle = (await client.account()).acct.replace(/^acct:/, "");
  if (typeof session === "string") {
    if (!/^[0-9a-f]{16}$/.test(session))
      throw new UsageError(`${LOGOUT_USAGE} (a session id is 16 hex digits: see mimi account sessions)`);
    await client.endSession(session);
    io.out(line`logged out session ${session} of ${handle}`);
    return;
  }
  const everywhere = flags.everywhere === true;
  const { revoked, alreadyEnded } = await client.logOut({ everywhere });
  if (alreadyEnded) io.out(line`the session of ${handle} had ended already; logged out here`);
  else if (everywhere)
    io.out(
      line`logged out of ${handle} everywhere (${String(revoked)} ${revoked === 1 ? "session" : "sessions"})`,
    );
  else io.out(line`logged out of ${handle}`);
}

/** `mimi account sessions`: the account's sessions, newest first, this one marked. */
export async function sessionsCommand(io: Io, client: MimiClient) {
  const sessions = await client.sessions();
  for (const session of sessions)
    io.out(
      line`${session.id}  ${shortTime(Date.parse(session.createdAt))}  ${session.label}${session.current ? "  (this session)" : ""}`,
    );
}

/**
 * `mimi account password`: the current password (MIMI_PASSWORD or a prompt) and the new one
 * (MIMI_NEW_PASSWORD or a prompt). The server logs every other session out; this one stays.
 */
export async function passwordCommand(io: Io, client: MimiClient) {
  const handle = (await client.account()).acct.replace(/^acct:/, "");
  const current = await io.readSecret(line`current password for ${handle}: `);
  if (!current) throw new UsageError("the current password is required (prompted, or MIMI_PASSWORD)");
  const next = await io.readSecret(line`new password for ${handle}: `, "MIMI_NEW_PASSWORD");
  if (!next) throw new UsageError("a new password is required (prompted, or MIMI_NEW_PASSWORD)");
  if (next === current) throw new UsageError("the new password is the current one");
  const { revoked } = await client.changePassword(current, next);
  io.out(
    line`changed the password of ${handle}; ${String(revoked)} other ${revoked === 1 ? "session" : "sessions"} logged out`,
  );
}

/**
 * What the CLI says when the home server refused the stored token (it expired or was logged out):
 * how to log in again, for the account the command used.
 */
export async function sessionEndedLine(state: StateStore, handle: string | undefined) {
  const account = await state.resolveAccount(handle).catch(() => undefined);
  return account
    ? line`your session has ended: run mimi account login ${account.username} --server ${account.server}`
    : line`your session has ended: run mimi account login <user> --server <url>`;
}
