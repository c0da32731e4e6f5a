import type { DeviceRecord } from "../account-store.js";
import type { ClientEvent, SyncResult } from "../client-types.js";
import type { AccountContext } from "../context.js";
import type { DeviceJoins } from "./channel-joins.js";

/** The user's devices as the home server lists them, and the joins a new device waits for. */

export interface DeviceInfo {
  clientId: string;
  name: string;
  createdAt: string;
  /** This MIMI_HOME's device. */
  current: boolean;
}

/** The user's clients at the home server, oldest first, with this device marked. */
export async function listDevices(ctx: AccountContext, own: DeviceRecord | undefined): Promise<DeviceInfo[]> {
  const { items } = await ctx.api.listClients();
  return items
    .map((item) => ({
      clientId: item.id,
      name: item.name,
      createdAt: item.createdAt,
      current: item.id === own?.clientId,
    }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export interface DeviceJoinResult {
  events: ClientEvent[];
  warnings: string[];
  /** Joins the channels had not answered when the wait ended. */
  waiting: number;
  /** Channels this device will not join, with why. */
  refused: DeviceJoins["refused"];
}

/** Syncs (which submits the joins) until no join waits for its channel's answer, or until the timeout. */
export async function joinChannelsUntilAnswered(
  sync: () => Promise<SyncResult>,
  joins: () => Promise<DeviceJoins>,
  options: { timeoutMs?: number; intervalMs?: number },
): Promise<DeviceJoinResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const events: ClientEvent[] = [];
  const warnings: string[] = [];
  for (;;) {
    const round = await sync();
    events.push(...round.events);
    warnings.push(...round.warnings);
    const known = await joins();
    if (known.pending.length === 0 || Date.now() >= deadline)
      return { events, warnings, waiting: known.pending.length, refused: known.refused };
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
