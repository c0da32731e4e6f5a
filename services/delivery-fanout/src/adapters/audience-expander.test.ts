import type { SignedGetResult } from "@mimi/http-signatures";
import { describe, expect, it } from "vitest";
import type { RemoteActor } from "../domain/documents.js";
import { type AudienceExpander, createAudienceExpander } from "./audience-expander.js";

const CHANNEL = "https://a.test/channels/c1";
const MALLORY = "https://a.test/users/mallory";
const ZOE = "https://a.test/users/zoe";
const DAVE = "https://c.test/users/dave";
const REMOTE_CHANNEL = "https://c.test/channels/c2";

/**
 * Remote documents by URL; a `redirect` answers with the document of another URL, as a redirect would.
 * `expired` actors are in the cache with their TTL run out; `down` URLs fail for now.
 */
function expander(
  documents: Record<string, unknown>,
  redirects: Record<string, string> = {},
  {
    expired = [],
    down = [],
    limits = {
      maxCollectionItems: 100,
      maxCollectionPages: 10,
      maxCollectionFetches: 100,
      fetchConcurrency: 2,
    },
  }: {
    expired?: RemoteActor[];
    down?: string[];
    limits?: Parameters<typeof createAudienceExpander>[0]["limits"];
  } = {},
): {
  expand: AudienceExpander;
  fetched: string[];
} {
  const fetched: string[] = [];
  const fetchJson = async (url: string): Promise<SignedGetResult> => {
    fetched.push(url);
    if (down.includes(url)) return { kind: "failed", reason: "connectError", detail: "connect ECONNREFUSED" };
    const target = redirects[url] ?? url;
    const document = documents[target];
    return document === undefined
      ? { kind: "status", status: 404, permanent: true, url: target }
      : { kind: "document", status: 200, document, url: target };
  };
  const expand = createAudienceExpander({
    localActorPrefix: "https://a.test/users/",
    localOrigin: "https://a.test",
    localAccounts: async (names) => new Set(names.filter((name) => name === "zoe" || name === "mallory")),
    localCollections: async (url) => (url === `${CHANNEL}/followers` ? [ZOE, DAVE] : undefined),
    actors: {
      get: async () => undefined,
      getExpired: async (actorId: string) => expired.find((actor) => actor.id === actorId),
      put: async (_actor: RemoteActor) => {},
      forget: async () => {},
    },
    fetchJson,
    now: () => 0,
    limits,
  });
  return { expand, fetched };
}

const dave = { id: DAVE, type: "Person", inbox: `${DAVE}/inbox` };

describe("audience expansion and followers collections", () => {
  it("expands a local channel's followers for the channel and refuses them to anyone else", async () => {
    const { expand } = expander({ [DAVE]: dave });
    const refused = await expand([`${CHANNEL}/followers`], { signAs: MALLORY });
    expect(refused.recipients).toEqual([]);
    expect(refused.refused).toEqual([
      { uri: `${CHANNEL}/followers`, reason: expect.stringContaining(`only ${CHANNEL} addresses it`) },
    ]);
    const allowed = await expand([`${CHANNEL}/followers`], { signAs: CHANNEL });
    expect(allowed.recipients.map((recipient) => recipient.actorId).sort()).toEqual([ZOE, DAVE].sort());
    expect(allowed.refused).toEqual([]);
  });

  it("refuses another form of the same collection and a remote channel's followers, without fetching them", async () => {
    const { expand, fetched } = expander({});
    const result = await expand(
      [`${CHANNEL}/Followers/`, `${REMOTE_CHANNEL}/followers?page=1`, `${REMOTE_CHANNEL}/followers`],
      { signAs: MALLORY },
    );
    expect(result.refused.map((entry) => entry.uri)).toEqual([
      `${CHANNEL}/Followers/`,
      `${REMOTE_CHANNEL}/followers?page=1`,
      `${REMOTE_CHANNEL}/followers`,
    ]);
    expect(fetched).toEqual([]);
  });

  it("refuses a remote collection that turns out to be a channel's followers, or pages through one", async () => {
    const members = {
      id: `${REMOTE_CHANNEL}/followers`,
      type: "OrderedCollection",
      orderedItems: [DAVE],
      "mimi:roles": {},
    };
    const { expand } = expander(
      {
        [`${REMOTE_CHANNEL}/followers`]: members,
        "https://c.test/lists/alias": { ...members, id: "https://c.test/lists/alias" },
        "https://c.test/lists/paged": {
          type: "OrderedCollection",
          first: `${REMOTE_CHANNEL}/followers?page=1`,
        },
        "https://c.test/lists/friends": { type: "OrderedCollection", orderedItems: [DAVE] },
        [DAVE]: dave,
      },
      { "https://c.test/lists/redirected": `${REMOTE_CHANNEL}/followers` },
    );
    const result = await expand(
      [
        "https://c.test/lists/redirected",
        "https://c.test/lists/alias",
        "https://c.test/lists/paged",
        "https://c.test/lists/friends",
      ],
      { signAs: MALLORY },
    );
    expect(result.refused.map((entry) => entry.uri)).toEqual([
      "https://c.test/lists/redirected",
      "https://c.test/lists/alias",
      "https://c.test/lists/paged",
    ]);
    // Only the ordinary list reached dave.
    expect(result.recipients.map((recipient) => recipient.actorId)).toEqual([DAVE]);
  });

  it("reaches an actor whose server is down for now at its last known inbox, in this request", async () => {
    const known: RemoteActor = {
      id: DAVE,
      inbox: `${DAVE}/inbox`,
      sharedInbox: "https://c.test/inbox",
      publicKeyId: undefined,
    };
    const { expand } = expander({}, {}, { expired: [known], down: [DAVE, "https://c.test/users/erin"] });
    const viaChannel = await expand([`${CHANNEL}/followers`], { signAs: CHANNEL });
    expect(viaChannel.recipients).toContainEqual({
      kind: "remote",
      actorId: DAVE,
      inbox: `${DAVE}/inbox`,
      sharedInbox: "https://c.test/inbox",
    });
    expect(viaChannel.unresolved).toEqual([]);
    const direct = await expand([DAVE, "https://c.test/users/erin"], { signAs: MALLORY });
    expect(direct.recipients.map((recipient) => recipient.actorId)).toEqual([DAVE]);
    // Never seen before: nothing to fall back on, so it is tried again later.
    expect(direct.unresolved).toMatchObject([{ uri: "https://c.test/users/erin", permanent: false }]);
  });

  it("makes a bounded number of requests for one activity, however large a remote collection is", async () => {
    // 1,500 members on 15 pages of a collection that is nobody's followers, each member on its own server.
    const LIST = "https://c.test/lists/everyone";
    const member = (index: number) => `https://m${index}.test/users/u${index}`;
    const documents: Record<string, unknown> = {
      [LIST]: { id: LIST, type: "OrderedCollection", totalItems: 1_500, first: `${LIST}?page=0` },
    };
    for (let page = 0; page < 15; page++) {
      documents[`${LIST}?page=${page}`] = {
        id: `${LIST}?page=${page}`,
        type: "OrderedCollectionPage",
        partOf: LIST,
        orderedItems: Array.from({ length: 100 }, (_, index) => member(page * 100 + index)),
        ...(page < 14 ? { next: `${LIST}?page=${page + 1}` } : {}),
      };
    }
    for (let index = 0; index < 1_500; index++) {
      documents[member(index)] = { id: member(index), type: "Person", inbox: `${member(index)}/inbox` };
    }
    const { expand, fetched } = expander(
      documents,
      {},
      {
        limits: {
          maxCollectionItems: 10_000,
          maxCollectionPages: 100,
          maxCollectionFetches: 40,
          fetchConcurrency: 4,
        },
      },
    );
    const expanded = await expand([LIST], { signAs: "https://a.test/users/alice" });
    // The collection itself, then 40 requests: pages and members together.
    expect(fetched).toHaveLength(41);
    expect(fetched.filter((url) => url.startsWith(`${LIST}?page=`))).toHaveLength(15);
    expect(expanded.recipients).toHaveLength(25);
    expect(expanded.refused).toEqual([
      { uri: LIST, reason: expect.stringContaining("1475 members not resolved") },
    ]);

    const { expand: expandFew, fetched: fetchedFew } = expander(
      documents,
      {},
      {
        limits: {
          maxCollectionItems: 30,
          maxCollectionPages: 100,
          maxCollectionFetches: 1_000,
          fetchConcurrency: 4,
        },
      },
    );
    const few = await expandFew([LIST], { signAs: "https://a.test/users/alice" });
    // Members are capped per activity too: the walk stops once it has them, and only they are fetched.
    expect(few.recipients).toHaveLength(30);
    expect(fetchedFew.length).toBeLessThanOrEqual(1 + 1 + 30);
  });
});
