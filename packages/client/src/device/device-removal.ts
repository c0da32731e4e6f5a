import { type ClientState, commit, encodeClientState, groupEpoch, ownLeafIndex, roster } from "@mimi/mls";
import { MimiApiError } from "../api.js";
import type { ClientEvent, SubmittedChange } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { ConversationSession } from "../conversation/session.js";
import { credentialNames } from "../credential-validation.js";
import { errorText, MimiClientError } from "../errors.js";
import { toBase64 } from "../mls-wire.js";
import { deviceRemoveActivity } from "./channel-joins.js";
import type { DeviceInfo } from "./devices.js";

/**
 * Taking one of the user's other devices out of every channel: in each, a commit by this device
 * removes that device's leaves (`Remove{mimi:Device}`, docs/protocol.md 6.4.12) and waits for the
 * channel's answer like any change of ours. The removed device's client sees the commit remove it.
 */

/** The device `reference` (a name or a client id) names among the user's devices: never this one. */
export function deviceNamed(devices: readonly DeviceInfo[], reference: string): DeviceInfo {
  const byId = devices.find((device) => device.clientId === reference);
  const byName = devices.filter((device) => device.name === reference);
  const found = byId ?? (byName.length === 1 ? byName[0] : undefined);
  if (!found) {
    throw new MimiClientError(
      byName.length > 1
        ? `several devices are named ${reference}: name one by its client id`
        : `no device ${reference} (mimi device list shows them)`,
    );
  }
  if (found.current) throw new MimiClientError("this is the current device: remove it from another one");
  return found;
}

/** Leaves of `clientId` (a client of `acct`) in a group, never our own. Pure. */
export function leavesOfClient(state: ClientState, acct: string, clientId: string): number[] {
  const own = ownLeafIndex(state);
  return roster(state)
    .filter((member) => {
      const names = credentialNames(member.credential);
      return member.leafIndex !== own && names?.acct === acct && names.clientId === clientId;
    })
    .map((member) => member.leafIndex);
}

export interface DeviceRemovalSubmitted {
  submitted: SubmittedChange[];
  /** Channels where the device is but nothing was submitted now, with why (another change waits). */
  notNow: { channel: string; reason: string }[];
}

/** Commits and submits the removal of `device`'s leaves in every active channel it is in. */
export async function submitDeviceRemoval(
  ctx: AccountContext,
  device: DeviceInfo,
): Promise<DeviceRemovalSubmitted> {
  const result: DeviceRemovalSubmitted = { submitted: [], notNow: [] };
  for (const session of await ConversationSession.all(ctx)) {
    const record = session.record;
    if (!session.active || !record.state) continue;
    const state = session.state();
    const leaves = leavesOfClient(state, ctx.account.acct, device.clientId);
    if (leaves.length === 0) continue;
    if (record.pending || record.createActivityId) {
      result.notNow.push({
        channel: record.name,
        reason: "another change of ours waits for the channel's answer",
      });
      continue;
    }
    try {
      const output = await commit(state, ctx.cs, { remove: leaves });
      const activity = deviceRemoveActivity(ctx.account.actor, record.url, output);
      record.pending = {
        activityId: activity.id,
        kind: "remove",
        // Names no account: if another commit wins the epoch, nothing of ours is rebuilt in its place.
        acct: `mimi-client:${device.clientId}`,
        actor: ctx.account.actor,
        keyPackages: [],
        newState: toBase64(encodeClientState(output.newState)),
        newEpoch: Number(groupEpoch(output.newState)),
        attempts: 1,
        submittedAt: ctx.now().toISOString(),
      };
      result.submitted.push(await session.submitPending(activity));
    } catch (error) {
      result.notNow.push({ channel: record.name, reason: errorText(error) });
    }
  }
  return result;
}

export interface DeviceRemovalResult extends DeviceRemovalSubmitted {
  device: DeviceInfo;
  events: ClientEvent[];
  /** Channels that had not answered when the wait ended. */
  waiting: string[];
  /**
   * Whether the home server deleted the device (its client and KeyPackages), so that no later Add of
   * the user brings it back; done only once every channel took it out.
   */
  deletedAtHome: boolean;
  /** Why the device was not deleted at the home server (yet). */
  notDeletedBecause?: string;
}

/**
 * Why the device must not be deleted at the home server yet: a channel still holds it (a removal
 * not submitted now, refused, or not answered). Undefined when every channel took it out. Pure.
 */
export function removalUnfinished(
  submitted: DeviceRemovalSubmitted,
  events: readonly ClientEvent[],
  waiting: readonly string[],
): string | undefined {
  const ours = new Set(submitted.submitted.map((change) => change.activityId));
  const refused = events.flatMap((event) =>
    event.type === "rejected" && ours.has(event.activityId) && !event.retried ? [event.channel.name] : [],
  );
  const still = [...submitted.notNow.map((notNow) => notNow.channel), ...refused, ...waiting];
  if (still.length === 0) return undefined;
  return `it is still in ${[...new Set(still)].join(", ")}: run mimi device remove again once those channels took it out`;
}

/**
 * Once the device is out of every channel, deletes it at the home server (naming this device as the
 * caller, so the server never deletes this one by mistake). A device already gone counts as deleted.
 */
export async function deleteRemovedDevice(
  ctx: AccountContext,
  device: DeviceInfo,
  ownClientId: string | undefined,
  unfinished: string | undefined,
): Promise<Pick<DeviceRemovalResult, "deletedAtHome" | "notDeletedBecause">> {
  if (unfinished !== undefined) return { deletedAtHome: false, notDeletedBecause: unfinished };
  try {
    await ctx.api.deleteClient(device.clientId, ownClientId ? { callingClientId: ownClientId } : {});
    return { deletedAtHome: true };
  } catch (error) {
    if (error instanceof MimiApiError && error.status === 404) return { deletedAtHome: true };
    return {
      deletedAtHome: false,
      notDeletedBecause: `the home server did not delete it: ${errorText(error)}`,
    };
  }
}
