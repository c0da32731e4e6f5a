import { referenceIds } from "./addressing.js";

const COLLECTION_TYPES = new Set([
  "Collection",
  "OrderedCollection",
  "CollectionPage",
  "OrderedCollectionPage",
]);

/** One fetched collection document (or page) taken apart. */
export type CollectionPage =
  | {
      readonly ok: true;
      /** Member ids on this page (`orderedItems` or `items`, URIs or objects with an `id`). */
      readonly items: string[];
      /** Where the items continue: an embedded first page, or the URL of the next page to fetch. */
      readonly continuation:
        | { readonly kind: "embedded"; readonly page: Record<string, unknown> }
        | { readonly kind: "url"; readonly url: string }
        | { readonly kind: "none" };
    }
  | { readonly ok: false; readonly detail: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typesOf(document: Record<string, unknown>): string[] {
  const type = document.type;
  if (typeof type === "string") return [type];
  return Array.isArray(type) ? type.filter((entry): entry is string => typeof entry === "string") : [];
}

/**
 * Reads an ActivityStreams Collection, OrderedCollection or one of their pages: the items it carries
 * itself, then where to continue (`first` on the collection, `next` on a page). A collection that
 * carries items and also a `first` page is read from both.
 */
export function readCollectionPage(document: unknown): CollectionPage {
  if (!isObject(document)) return { ok: false, detail: "the collection is not a JSON object" };
  if (!typesOf(document).some((type) => COLLECTION_TYPES.has(type))) {
    return { ok: false, detail: `expected a Collection or OrderedCollection, got ${String(document.type)}` };
  }
  const items = [...referenceIds(document.orderedItems), ...referenceIds(document.items)];
  const onward = document.first ?? document.next;
  if (typeof onward === "string") return { ok: true, items, continuation: { kind: "url", url: onward } };
  if (isObject(onward)) {
    // An embedded page without items of its own is only a link to it.
    if (typeof onward.id === "string" && onward.orderedItems === undefined && onward.items === undefined) {
      return { ok: true, items, continuation: { kind: "url", url: onward.id } };
    }
    return { ok: true, items, continuation: { kind: "embedded", page: onward } };
  }
  return { ok: true, items, continuation: { kind: "none" } };
}
