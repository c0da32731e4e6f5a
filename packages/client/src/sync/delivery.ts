import { type Activity, idOf, stringField } from "../activities.js";
import type { MailboxItem } from "../api.js";
import { isDmMessage } from "../dm/activities.js";

/**
 * Who may act on this client for a channel: the channel itself, and nobody else. The home server
 * verified the signature of every delivery and says who signed it (`deliveredBy`); whatever is about a
 * channel (its Accept or Reject, its forwards, a Welcome) counts only when that channel delivered it.
 * An envelope anyone else signed changes nothing, whatever it claims. Pure.
 */
export type Delivery =
  /** The channel's answer to one of our submissions: its `actor` is the channel. */
  | { kind: "verdict"; type: "Accept" | "Reject"; channelUrl: string }
  /** An entry of the channel (a forward, a Welcome): its `target` is the channel. */
  | { kind: "channel"; channelUrl: string }
  /**
   * A group DM's message (docs/protocol.md 14.4): addressed to the participants, not forwarded by the
   * group, so its own checks (`checkDmEnvelope`, then `checkDmSender`) decide, against the group
   * named by its `context`.
   */
  | { kind: "dm"; groupUrl: string }
  | { kind: "refused"; reason: string };

export function checkDelivery(item: MailboxItem): Delivery {
  const activity = item.activity;
  const type = stringField(activity, "type");
  if (type === "Accept" || type === "Reject") {
    const channelUrl = idOf(activity.actor);
    if (!channelUrl || item.deliveredBy !== channelUrl)
      return {
        kind: "refused",
        reason: `a ${type} from ${channelUrl ?? "nobody"} that the channel did not deliver itself`,
      };
    return { kind: "verdict", type, channelUrl };
  }
  if (isDmMessage(activity)) return { kind: "dm", groupUrl: idOf(activity.context) as string };
  const channelUrl = idOf(activity.target);
  if (!channelUrl) return { kind: "refused", reason: `a ${type ?? "typeless"} activity without a channel` };
  if (item.deliveredBy !== channelUrl)
    return {
      kind: "refused",
      reason: `an activity about ${channelUrl} delivered by ${item.deliveredBy ?? "an unknown sender"}, not by the channel`,
    };
  return { kind: "channel", channelUrl };
}

/** An Add that names `actor` (us) and carries a Welcome: an invitation to join. */
export function isWelcomeFor(activity: Activity, actor: string): boolean {
  return (
    stringField(activity, "type") === "Add" &&
    idOf(activity.object) === actor &&
    Boolean(activity["mimi:welcome"])
  );
}
