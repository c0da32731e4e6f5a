import { isLocalUsername } from "@mimi/activitypub";
import { type SignedGet, type SignedGetResult, signedGetFailureDetail } from "@mimi/http-signatures";
import {
  collectionRefusal,
  documentRefusal,
  isDeliverableUri,
  localUsernameOf,
  type ResolvedRecipient,
} from "../domain/audience.js";
import {
  type CollectionPageObject,
  type ParsedDocument,
  parseCollection,
  parseRemoteDocument,
} from "../domain/documents.js";
import type { LocalAccountLookup, LocalCollectionResolver } from "./local-accounts.js";
import type { RemoteActorCache } from "./remote-actors.js";

/** An audience entry that could not become a recipient, and whether trying again could help. */
export interface Unresolved {
  uri: string;
  permanent: boolean;
  reason: string;
}

/** An audience entry the request may not use (another actor's followers collection): dropped, not delivered. */
export interface Refused {
  uri: string;
  reason: string;
}

/**
 * Why a signed GET gave no document, and whether fetching again could help. Delivery gives up on a
 * refused address, a body too large or not JSON, and a 4xx other than 401 (keys may not be known
 * yet), 408 and 429; everything else (5xx, timeouts, no signing key yet) is tried again later.
 */
export function fetchFailure(fetched: Exclude<SignedGetResult, { kind: "document" }>): {
  permanent: boolean;
  detail: string;
} {
  const detail = signedGetFailureDetail(fetched);
  switch (fetched.kind) {
    case "blocked":
      return { permanent: true, detail };
    case "failed":
      return { permanent: fetched.reason === "tooLarge" || fetched.reason === "notJson", detail };
    case "status":
      return {
        permanent:
          fetched.status >= 400 && fetched.status <= 499 && ![401, 408, 429].includes(fetched.status),
        detail,
      };
  }
}

export interface ExpandedAudience {
  recipients: ResolvedRecipient[];
  unresolved: Unresolved[];
  refused: Refused[];
}

export interface AudienceExpanderDeps {
  /** `urls.actor("")`: the prefix of this provider's user actor URLs. */
  localActorPrefix: string;
  /** This provider's origin: URIs there are never fetched over the network. */
  localOrigin: string;
  localAccounts: LocalAccountLookup;
  localCollections: LocalCollectionResolver;
  actors: RemoteActorCache;
  fetchJson: SignedGet;
  now: () => number;
  limits: {
    maxCollectionItems: number;
    maxCollectionPages: number;
    /**
     * Requests all the remote collections of one activity may cost (their pages and their members'
     * actor documents), so that one activity never makes more than a bounded number of requests.
     */
    maxCollectionFetches: number;
    fetchConcurrency: number;
  };
}

export type AudienceExpander = (
  audience: readonly string[],
  request: { signAs: string },
) => Promise<ExpandedAudience>;

/**
 * Expands actor and collection URIs into recipients: local collections through the injected
 * resolver, local actors through the account table, remote actors through the actor cache (fetched
 * signed as the instance actor on a miss), remote collections by walking their pages (bounded).
 * Members of a collection are resolved as actors only: nested collections are not expanded. A
 * followers collection is expanded only for a request signed as its owner (`collectionRefusal`):
 * checked on the audience URI, on where a remote collection was fetched from, on what it says it is,
 * and on each page; a refused entry is dropped.
 */
export function createAudienceExpander(deps: AudienceExpanderDeps): AudienceExpander {
  /**
   * An actor whose refresh failed for now is reached at its last known inbox: resolving it later, as a
   * request of its own, would deliver this activity after ones sent later to the same destination.
   */
  async function lastKnown(
    uri: string,
    failure: { permanent: boolean },
  ): Promise<ResolvedRecipient | undefined> {
    if (failure.permanent) return undefined;
    const expired = await deps.actors.getExpired(uri);
    return expired ? remoteRecipient(expired) : undefined;
  }

  async function resolveRemoteActor(
    uri: string,
    budget?: ExpansionBudget,
  ): Promise<ResolvedRecipient | Unresolved | "overBudget"> {
    const cached = await deps.actors.get(uri, deps.now());
    if (cached) return remoteRecipient(cached);
    if (budget !== undefined && !budget.spend()) return "overBudget";
    const fetched = await deps.fetchJson(uri);
    if (fetched.kind !== "document") {
      const failure = fetchFailure(fetched);
      const known = await lastKnown(uri, failure);
      if (known) return known;
      return { uri, permanent: failure.permanent, reason: `actor fetch failed: ${failure.detail}` };
    }
    const parsed = parseRemoteDocument(fetched.document, fetched.url);
    if (parsed.kind !== "actor") {
      return {
        uri,
        permanent: true,
        reason: parsed.kind === "other" ? parsed.reason : "a collection, not an actor",
      };
    }
    // Cached under the URI the audience used, which is also what `exclude` names.
    const actor = { ...parsed.actor, id: uri };
    await deps.actors.put(actor, deps.now());
    return remoteRecipient(actor);
  }

  async function walkRemoteCollection(
    first: ParsedDocument & { kind: "collection" },
    uri: string,
    signAs: string,
    budget: ExpansionBudget,
  ) {
    const items = new Set(first.items);
    const unresolved: Unresolved[] = [];
    const refused: Refused[] = [];
    let page: string | CollectionPageObject | undefined = first.first ?? first.next;
    let pages = 0;
    const seenPages = new Set<string>([uri]);
    while (
      page !== undefined &&
      items.size < deps.limits.maxCollectionItems &&
      pages < deps.limits.maxCollectionPages
    ) {
      pages++;
      let parsed: ParsedDocument;
      if (typeof page === "string") {
        if (seenPages.has(page)) break;
        seenPages.add(page);
        const pageRefusal = collectionRefusal(page, signAs);
        if (pageRefusal) {
          refused.push({ uri, reason: `page ${page}: ${pageRefusal}` });
          break;
        }
        // Not refused: the members read so far are still delivered to.
        if (!budget.spend()) break;
        const fetched = await deps.fetchJson(page);
        if (fetched.kind !== "document") {
          const failure = fetchFailure(fetched);
          unresolved.push({
            uri,
            permanent: failure.permanent,
            reason: `collection page ${page}: ${failure.detail}`,
          });
          break;
        }
        const fetchedRefusal = documentRefusal(fetched.document, fetched.url, signAs);
        if (fetchedRefusal) {
          refused.push({ uri, reason: `page ${page}: ${fetchedRefusal}` });
          break;
        }
        parsed =
          typeof fetched.document === "object" &&
          fetched.document !== null &&
          !Array.isArray(fetched.document)
            ? parseCollection(fetched.document as Record<string, unknown>)
            : { kind: "other", reason: "page is not an object" };
      } else {
        const embeddedRefusal = documentRefusal(page, uri, signAs);
        if (embeddedRefusal) {
          refused.push({ uri, reason: embeddedRefusal });
          break;
        }
        parsed = parseCollection(page);
      }
      if (parsed.kind !== "collection") break;
      for (const item of parsed.items) items.add(item);
      page = parsed.next;
    }
    if (refused.length > 0) return { members: [], unresolved, refused };
    return {
      members: budget.takeMembers([...items].slice(0, deps.limits.maxCollectionItems)),
      unresolved,
      refused,
    };
  }

  /** Members of a collection are actors (local or remote); anything else is reported, not expanded. */
  async function resolveActors(
    uris: readonly string[],
    budget?: ExpansionBudget,
  ): Promise<{ recipients: ResolvedRecipient[]; unresolved: Unresolved[]; overBudget: number }> {
    const recipients: ResolvedRecipient[] = [];
    const unresolved: Unresolved[] = [];
    let overBudget = 0;
    const local = new Map<string, string>();
    const remote: string[] = [];
    for (const uri of uris) {
      if (!isDeliverableUri(uri)) continue;
      const username = localUsernameOf(uri, deps.localActorPrefix, isLocalUsername);
      if (username !== undefined) local.set(uri, username);
      else if (new URL(uri).origin === deps.localOrigin)
        unresolved.push({ uri, permanent: true, reason: "not a local actor" });
      else remote.push(uri);
    }
    const existing = await deps.localAccounts([...new Set(local.values())]);
    for (const [uri, username] of local) {
      if (existing.has(username)) recipients.push({ kind: "local", actorId: uri, username });
      else unresolved.push({ uri, permanent: true, reason: `no local account ${username}` });
    }
    const resolved = await mapLimited(remote, deps.limits.fetchConcurrency, (uri) =>
      resolveRemoteActor(uri, budget),
    );
    for (const outcome of resolved) {
      if (outcome === "overBudget") overBudget++;
      else if ("kind" in outcome) recipients.push(outcome);
      else unresolved.push(outcome);
    }
    return { recipients, unresolved, overBudget };
  }

  return async (audience, { signAs }) => {
    const recipients: ResolvedRecipient[] = [];
    const unresolved: Unresolved[] = [];
    const refused: Refused[] = [];
    const directActors: string[] = [];
    const budget = new ExpansionBudget(deps.limits.maxCollectionFetches, deps.limits.maxCollectionItems);
    for (const uri of new Set(audience)) {
      if (!isDeliverableUri(uri)) continue;
      const refusal = collectionRefusal(uri, signAs);
      if (refusal) {
        refused.push({ uri, reason: refusal });
        continue;
      }
      const localMembers = await deps.localCollections(uri);
      if (localMembers !== undefined) {
        const expanded = await resolveActors(localMembers);
        recipients.push(...expanded.recipients);
        unresolved.push(...expanded.unresolved);
        continue;
      }
      if (new URL(uri).origin === deps.localOrigin) {
        directActors.push(uri);
        continue;
      }
      const cached = await deps.actors.get(uri, deps.now());
      if (cached) {
        recipients.push(remoteRecipient(cached));
        continue;
      }
      const fetched = await deps.fetchJson(uri);
      if (fetched.kind !== "document") {
        const failure = fetchFailure(fetched);
        const known = await lastKnown(uri, failure);
        if (known) recipients.push(known);
        else
          unresolved.push({ uri, permanent: failure.permanent, reason: `fetch failed: ${failure.detail}` });
        continue;
      }
      const parsed = parseRemoteDocument(fetched.document, fetched.url);
      if (parsed.kind === "actor") {
        await deps.actors.put({ ...parsed.actor, id: uri }, deps.now());
        recipients.push(remoteRecipient({ ...parsed.actor, id: uri }));
      } else if (parsed.kind === "collection") {
        const fetchedRefusal = documentRefusal(fetched.document, fetched.url, signAs);
        if (fetchedRefusal) {
          refused.push({ uri, reason: fetchedRefusal });
          continue;
        }
        const walked = await walkRemoteCollection(parsed, uri, signAs, budget);
        unresolved.push(...walked.unresolved);
        refused.push(...walked.refused);
        const expanded = await resolveActors(walked.members, budget);
        recipients.push(...expanded.recipients);
        unresolved.push(...expanded.unresolved);
        if (expanded.overBudget > 0) {
          // One entry for the collection, not one per member: dropped, not retried.
          refused.push({
            uri,
            reason: `${expanded.overBudget} members not resolved: the ${deps.limits.maxCollectionFetches} requests remote collections may cost one activity were spent`,
          });
        }
      } else {
        unresolved.push({ uri, permanent: true, reason: parsed.reason });
      }
    }
    const direct = await resolveActors(directActors);
    recipients.push(...direct.recipients);
    unresolved.push(...direct.unresolved);
    return { recipients, unresolved, refused };
  };
}

function remoteRecipient(actor: {
  id: string;
  inbox: string;
  sharedInbox?: string | undefined;
}): ResolvedRecipient {
  return { kind: "remote", actorId: actor.id, inbox: actor.inbox, sharedInbox: actor.sharedInbox };
}

/** `map` with at most `limit` calls in flight, results in input order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(Math.max(limit, 1), items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return results;
}

/**
 * What the remote collections of one activity may still cost: requests (pages, members' actor
 * documents) and members. Spent in the order the work happens; local collections and directly
 * addressed actors do not draw on it (those are bounded by a channel's membership and by the
 * addresses an activity may name).
 */
class ExpansionBudget {
  constructor(
    private fetchesLeft: number,
    private membersLeft: number,
  ) {}

  /** Takes one request from the budget; false when none is left. */
  spend(): boolean {
    if (this.fetchesLeft <= 0) return false;
    this.fetchesLeft--;
    return true;
  }

  /** The members still within the per-activity member budget. */
  takeMembers(members: string[]): string[] {
    const taken = members.slice(0, Math.max(this.membersLeft, 0));
    this.membersLeft -= taken.length;
    return taken;
  }
}
