/**
 * Reading remote ActivityPub documents: actors (where to deliver) and collections (whom to deliver
 * to). Lenient about shapes other servers produce, strict about what we act on (absolute http(s)
 * URLs). Pure: parsing only.
 */

export interface RemoteActor {
  id: string;
  inbox: string;
  sharedInbox: string | undefined;
  publicKeyId: string | undefined;
}

export type ParsedDocument =
  | { kind: "actor"; actor: RemoteActor }
  | {
      kind: "collection";
      items: string[];
      first: string | CollectionPageObject | undefined;
      next: string | undefined;
    }
  | { kind: "other"; reason: string };

export type CollectionPageObject = Record<string, unknown>;

const COLLECTION_TYPES = new Set([
  "Collection",
  "OrderedCollection",
  "CollectionPage",
  "OrderedCollectionPage",
]);

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typesOf(document: Record<string, unknown>): string[] {
  const type = document.type;
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === "string");
  return [];
}

/** A member reference: a URI, or an embedded object with an `id`. */
function referenceId(value: unknown): string | undefined {
  if (typeof value === "string") return httpUrl(value);
  if (isRecord(value)) return httpUrl(value.id);
  return undefined;
}

/**
 * Classifies a fetched document. `fetchedUrl` is where it came from (after redirects): an actor is
 * accepted only when its `id` is on that origin, so one server cannot claim another's actors.
 */
export function parseRemoteDocument(document: unknown, fetchedUrl: string): ParsedDocument {
  if (!isRecord(document)) return { kind: "other", reason: "document is not a JSON object" };
  const types = typesOf(document);
  if (types.some((type) => COLLECTION_TYPES.has(type))) return parseCollection(document);
  const id = httpUrl(document.id);
  if (!id) return { kind: "other", reason: "document has no http(s) id" };
  if (new URL(id).origin !== new URL(fetchedUrl).origin) {
    return { kind: "other", reason: `actor id ${id} is not on the origin it was fetched from` };
  }
  const inbox = httpUrl(document.inbox);
  if (!inbox) return { kind: "other", reason: `${id} has no inbox (not an actor)` };
  const endpoints = isRecord(document.endpoints) ? document.endpoints : {};
  const publicKey = Array.isArray(document.publicKey) ? document.publicKey[0] : document.publicKey;
  return {
    kind: "actor",
    actor: {
      id,
      inbox,
      sharedInbox: httpUrl(endpoints.sharedInbox),
      publicKeyId: isRecord(publicKey) ? httpUrl(publicKey.id) : undefined,
    },
  };
}

/** Items of a collection or page (`orderedItems` or `items`), its first page and the next page. */
export function parseCollection(document: Record<string, unknown>): ParsedDocument {
  const rawItems = document.orderedItems ?? document.items;
  const list = Array.isArray(rawItems) ? rawItems : rawItems === undefined ? [] : [rawItems];
  const items = list.map(referenceId).filter((id): id is string => id !== undefined);
  const first = isRecord(document.first) ? document.first : httpUrl(document.first);
  return { kind: "collection", items, first, next: referenceId(document.next) };
}
