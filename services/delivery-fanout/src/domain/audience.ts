/**
 * Turning an audience into deliveries, without I/O: which URIs name local actors, how remote
 * recipients group into one POST per destination inbox, and what body goes out.
 */
import { PUBLIC_COLLECTION } from "@mimi/activitypub";

/** A recipient after its actor document (or this provider's account table) was consulted. */
export type ResolvedRecipient =
  | { kind: "local"; actorId: string; username: string }
  | { kind: "remote"; actorId: string; inbox: string; sharedInbox?: string | undefined };

export interface RemoteDelivery {
  /** The inbox POSTed to: the shared inbox when the recipients' server offers one. */
  inbox: string;
  recipients: string[];
}

export interface DeliveryPlan {
  localUsernames: string[];
  remote: RemoteDelivery[];
}

/**
 * Groups recipients by the inbox they are reached through, preferring `endpoints.sharedInbox`
 * (Mastodon's `preferred_inbox_url`): recipients sharing one server's shared inbox cost one POST.
 * Excluded actors and duplicates are dropped; the order of first appearance is kept.
 */
export function planDeliveries(
  recipients: readonly ResolvedRecipient[],
  exclude: readonly string[],
): DeliveryPlan {
  const excluded = new Set(exclude);
  const localUsernames = new Set<string>();
  const byInbox = new Map<string, Set<string>>();
  for (const recipient of recipients) {
    if (excluded.has(recipient.actorId)) continue;
    if (recipient.kind === "local") {
      localUsernames.add(recipient.username);
      continue;
    }
    const inbox = recipient.sharedInbox ?? recipient.inbox;
    let group = byInbox.get(inbox);
    if (!group) {
      group = new Set();
      byInbox.set(inbox, group);
    }
    group.add(recipient.actorId);
  }
  return {
    localUsernames: [...localUsernames],
    remote: [...byInbox].map(([inbox, actors]) => ({ inbox, recipients: [...actors] })),
  };
}

/** Audience entries that are never delivered to: the public collection and anything not http(s). */
export function isDeliverableUri(uri: string): boolean {
  if (uri === PUBLIC_COLLECTION || uri === "as:Public" || uri === "Public") return false;
  try {
    const url = new URL(uri);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/**
 * The username when `uri` is exactly this provider's actor URL for a plausible local name
 * (`urls.actor(name)`), else undefined. Whether the account exists is the caller's question.
 */
export function localUsernameOf(
  uri: string,
  actorUrlPrefix: string,
  isLocalUsername: (name: string) => boolean,
): string | undefined {
  if (!uri.startsWith(actorUrlPrefix)) return undefined;
  const rest = uri.slice(actorUrlPrefix.length);
  if (rest.length === 0 || rest.includes("/") || rest.includes("?") || rest.includes("#")) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  return isLocalUsername(name) ? name : undefined;
}

/**
 * The bytes every destination receives. `bto` and `bcc` are removed before delivery (ActivityPub
 * 6.x: blind recipients must not be disclosed); everything else is kept as given.
 */
export function deliveryBody(activity: Record<string, unknown>): string {
  const { bto: _bto, bcc: _bcc, ...visible } = activity;
  return JSON.stringify(visible);
}
