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

/**
 * The actor whose followers collection `uri` names (`<actor>/followers`), or undefined. Lenient in
 * what counts as one (a query or fragment, trailing slashes, letter case and percent-encoding of the
 * last segment), since a server may answer all of those with the same collection.
 */
export function followersCollectionOwner(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const segments = url.pathname.split("/");
  while (segments.length > 1 && segments.at(-1) === "") segments.pop();
  let last = segments.pop() ?? "";
  try {
    last = decodeURIComponent(last);
  } catch {
    // Not valid percent-encoding: compared as written.
  }
  if (last.toLowerCase() !== "followers") return undefined;
  return `${url.origin}${segments.join("/")}`;
}

function sameActor(a: string, b: string): boolean {
  try {
    const left = new URL(a);
    const right = new URL(b);
    return (
      left.origin === right.origin &&
      left.pathname.replace(/\/+$/, "") === right.pathname.replace(/\/+$/, "") &&
      left.search === right.search
    );
  } catch {
    return false;
  }
}

/**
 * Why a collection named by `uri` may not be expanded for a request signed as `signAs`, or undefined
 * when it may. A followers collection reaches its owner's followers, and only the owner addresses
 * them: for a channel `C`, `C/followers` are its members, and anyone else addressing them would
 * deliver around the channel's membership and ordering checks. A remote collection's URL does not say
 * whether its owner is a channel, so the rule holds for every followers collection; this provider's
 * users have no business delivering to another actor's followers either.
 */
export function collectionRefusal(uri: string, signAs: string): string | undefined {
  const owner = followersCollectionOwner(uri);
  if (owner === undefined || sameActor(owner, signAs)) return undefined;
  return `${uri} is the followers collection of ${owner}, and only ${owner} addresses it (the request is signed as ${signAs})`;
}

/**
 * `collectionRefusal` for a fetched collection document: its own `id`, the collection a page is
 * `partOf`, and a channel's member list (`mimi:roles`, served only at `C/followers`) count as well as
 * the URL it was fetched from, so a redirect or an alias cannot hide a channel's followers.
 */
export function documentRefusal(document: unknown, fetchedUrl: string, signAs: string): string | undefined {
  const named: string[] = [fetchedUrl];
  if (typeof document === "object" && document !== null && !Array.isArray(document)) {
    const record = document as Record<string, unknown>;
    for (const key of ["id", "partOf"]) {
      const value = record[key];
      if (typeof value === "string") named.push(value);
      else if (
        typeof value === "object" &&
        value !== null &&
        typeof (value as { id?: unknown }).id === "string"
      )
        named.push((value as { id: string }).id);
    }
    if ("mimi:roles" in record && !named.some((uri) => followersCollectionOwner(uri) !== undefined)) {
      return `${fetchedUrl} lists a channel's members (mimi:roles) without naming its followers collection`;
    }
  }
  for (const uri of named) {
    const refusal = collectionRefusal(uri, signAs);
    if (refusal) return refusal;
  }
  return undefined;
}
