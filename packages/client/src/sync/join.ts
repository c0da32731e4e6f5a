import { fromWireObject, groupIdOf } from "@mimi/mls";
import type { ChannelRecord } from "../account-store.js";
import { type Activity, actorIdOf, idOf, objectField, stringField } from "../activities.js";
import { type ChannelLogItem, MimiApiError, type ProviderApi } from "../api.js";
import type { ClientEvent } from "../client-types.js";
import type { AccountContext } from "../context.js";

import { ConversationSession } from "../conversation/session.js";
import type { DeviceKeys } from "../device/device-keys.js";
import { dmOfCreate, dmRosterRefusal } from "../dm/groups.js";
import { acctsAddedBy, channelIdOfUrl, groupInfoSignerAcct } from "../mls-wire.js";

/**
 * An Add naming us with a Welcome, delivered by the channel (`delivery.ts`): join with whichever of
 * our KeyPackages it was made for, but only when the Welcome's group is the channel it names and the
 * channel's log (read through the home server) holds that Add at the epoch the Welcome puts us in.
 * The KeyPackage is dropped only then. Returns true when it joined.
 */
export async function joinChannel(
  ctx: AccountContext,
  keys: DeviceKeys,
  activity: Activity,
  channelUrl: string,
  events: ClientEvent[],
): Promise<boolean> {
  const id = stringField(activity, "id") ?? "(no id)";
  const skip = (reason: string) => {
    events.push({ type: "skipped", activityId: id, reason });
    return false;
  };
  const channelId = channelIdOfUrl(channelUrl);
  const wire = fromWireObject(activity["mimi:welcome"], "Welcome");
  const device = await keys.load();
  if (!device) return skip("no device registered here");
  if (!wire.ok) return skip(`bad Welcome: ${wire.detail}`);
  if (!channelId) return skip("bad channel URL");
  const joined = await keys.openWelcome(device, wire.bytes);
  if (!joined) return skip("the Welcome is for none of this device's KeyPackages");
  if (Buffer.from(groupIdOf(joined.state)).toString("base64url") !== channelId)
    return skip("the Welcome's group is not the channel it names");
  const session = new ConversationSession(ctx, {
    id: channelId,
    url: channelUrl,
    name: channelId,
    status: "active",
    epoch: 0,
    createdAt: ctx.now().toISOString(),
    actors: { [ctx.account.acct]: ctx.account.actor },
    logSequence: 0,
    seen: [id],
  });
  session.adopt(joined.state);
  const record = session.record;
  const commitWire = fromWireObject(activity["mimi:commit"], "PublicMessage");
  if (commitWire.ok)
    for (const acct of acctsAddedBy(commitWire.bytes)) record.actors[acct] = ctx.account.actor;
  // The channel's server must know this Add: its log holds it, at the epoch the Welcome puts us in.
  const entry = await readHistory(ctx.api, record, id);
  if (entry === undefined)
    return skip("the channel's server does not confirm this Welcome (its log has no such Add)");
  if (entry.epoch !== record.epoch)
    return skip(`the channel's server logged this Add at epoch ${entry.epoch}, not ${record.epoch}`);
  const refusal = dmRosterRefusal(record, joined.state);
  if (refusal !== undefined) return skip(refusal);
  await keys.consume(device, joined.used);
  await session.save();
  events.push({ type: "joined", channel: session.summary(), by: actorIdOf(activity) });
  return true;
}

/**
 * Before joining: the channel's log, read through the home server up to the Add that welcomed us,
 * confirms the Add and gives the channel's name and its members' actor URLs (later entries arrive
 * through the mailbox). Returns the Add's log entry, or undefined when the log does not have it or
 * the channel's server refuses to show it. A read that may pass later (unreachable, 5xx) throws, so
 * the delivery is processed again on the next sync.
 */
async function readHistory(
  api: ProviderApi,
  record: ChannelRecord,
  welcomeActivityId: string,
): Promise<ChannelLogItem | undefined> {
  let after = 0;
  for (;;) {
    let page: Awaited<ReturnType<ProviderApi["channelLog"]>>;
    try {
      page = await api.channelLog(record.url, after);
    } catch (error) {
      if (error instanceof MimiApiError && error.status >= 400 && error.status < 500) return undefined;
      throw error;
    }
    for (const item of page.items) {
      if (item.sequence <= after) continue;
      after = item.sequence;
      await learnFromLogEntry(record, item.activity);
      if (stringField(item.activity, "id") === welcomeActivityId) {
        record.logSequence = item.sequence;
        return item;
      }
    }
    if (page.items.length === 0 || page.next === null) return undefined;
  }
}

/** What an entry before our Add tells a newcomer: the channel's name, and who is behind which actor. */
export async function learnFromLogEntry(record: ChannelRecord, activity: Activity): Promise<void> {
  const type = stringField(activity, "type");
  const object = objectField(activity, "object");
  if (
    (type === "Create" || type === "Update") &&
    object?.type === "Service" &&
    typeof object.name === "string"
  )
    record.name = object.name;
  if (type === "Create" && object?.type === "Service") {
    // A group DM's group: its participants are fixed here, and its name is the conversation key.
    const dm = dmOfCreate(activity);
    if (dm) {
      record.dm = dm;
      record.name = dm.conversation;
    }
    const groupInfo = fromWireObject(activity["mimi:groupInfo"], "GroupInfo");
    const creator = groupInfo.ok ? await groupInfoSignerAcct(groupInfo.bytes) : undefined;
    if (creator) record.actors[creator] ??= actorIdOf(activity);
  }
  if (type === "Add") {
    const commitWire = fromWireObject(activity["mimi:commit"], "PublicMessage");
    const added = idOf(activity.object);
    if (commitWire.ok && added)
      for (const acct of acctsAddedBy(commitWire.bytes)) record.actors[acct] = added;
  }
}
