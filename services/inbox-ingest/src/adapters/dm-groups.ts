import type { SignedGet } from "@mimi/http-signatures";
import { BoundedCache } from "@mimi/service-kit";
import { type DmGroup, readDmGroup } from "../domain/dm-message.js";

/** What reading a DM group's actor document gave. */
export type DmGroupRead =
  | { readonly kind: "found"; readonly group: DmGroup }
  /** The URL answers for good with something that is not a DM group (or refuses us, or is blocked). */
  | { readonly kind: "notDm"; readonly detail: string }
  /** No answer for now and nothing usable cached: the sender retries later. */
  | { readonly kind: "unavailable"; readonly detail: string };

export type DmGroupReader = (url: string, read: { readonly refresh: boolean }) => Promise<DmGroupRead>;

export interface DmGroupReaderOptions {
  /** GETs signed as the instance actor. */
  readonly signedGet: SignedGet;
  /** Groups whose documents are kept (the least recently stored is dropped). */
  readonly maxEntries: number;
  /** How long a read document is used without asking again. */
  readonly ttlMs: number;
  /** How long past `ttlMs` a document is still used when its server cannot be reached. */
  readonly maxStaleMs: number;
  readonly maxParticipants: number;
  readonly now?: () => number;
}

const MIN_REFRESH_MS = 1000;

interface Cached {
  readonly group: DmGroup;
  readonly readAt: number;
}

/**
 * Reads DM groups' actor documents (docs/protocol.md section 14.4, check 3), signed as the instance
 * actor and cached. A group's host being unreachable does not stop its messages: a cached document is
 * used for `maxStaleMs` more (section 14.7). Concurrent reads of one group share one fetch.
 */
export function createDmGroupReader(options: DmGroupReaderOptions): DmGroupReader {
  const now = options.now ?? Date.now;
  const cache = new BoundedCache<string, Cached>({ maxEntries: options.maxEntries });
  const inFlight = new Map<string, Promise<DmGroupRead>>();

  const fetchGroup = async (url: string, cached: Cached | undefined): Promise<DmGroupRead> => {
    const startedAt = now();
    const stale = (detail: string): DmGroupRead =>
      cached !== undefined && startedAt - cached.readAt <= options.ttlMs + options.maxStaleMs
        ? { kind: "found", group: cached.group }
        : { kind: "unavailable", detail };
    const answer = await options.signedGet(url);
    switch (answer.kind) {
      case "document": {
        // The document speaks for the URL that answered only: a redirect elsewhere is not the group.
        const group =
          answer.url === url ? readDmGroup(answer.document, url, options.maxParticipants) : undefined;
        if (group === undefined) {
          cache.delete(url);
          return { kind: "notDm", detail: `${url} is not a DM group's actor document` };
        }
        cache.set(url, { group, readAt: startedAt });
        return { kind: "found", group };
      }
      case "status":
        if (answer.permanent) {
          cache.delete(url);
          return { kind: "notDm", detail: `${url} answered ${answer.status}` };
        }
        return stale(`${url} answered ${answer.status}`);
      case "blocked":
        cache.delete(url);
        return { kind: "notDm", detail: answer.detail };
      case "failed":
        return stale(answer.detail);
    }
  };

  return async (url, read) => {
    const cached = cache.peek(url);
    const age = cached === undefined ? undefined : now() - cached.readAt;
    // A refresh within a second of the last read reads nothing new: a sender's messages from the
    // future cost at most one fetch a second.
    const fresh = age !== undefined && age < (read.refresh ? MIN_REFRESH_MS : options.ttlMs);
    if (cached !== undefined && fresh) return { kind: "found", group: cached.group };
    const running = inFlight.get(url);
    if (running) return running;
    const started = fetchGroup(url, cached).finally(() => inFlight.delete(url));
    inFlight.set(url, started);
    return started;
  };
}
