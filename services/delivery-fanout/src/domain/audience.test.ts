import { isLocalUsername } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import {
  collectionRefusal,
  deliveryBody,
  documentRefusal,
  followersCollectionOwner,
  isDeliverableUri,
  localUsernameOf,
  planDeliveries,
  type ResolvedRecipient,
} from "./audience.js";
import { parseRemoteDocument } from "./documents.js";

const remote = (actorId: string, inbox: string, sharedInbox?: string): ResolvedRecipient => ({
  kind: "remote",
  actorId,
  inbox,
  sharedInbox,
});

describe("planDeliveries", () => {
  it("sends one POST per shared inbox and per personal inbox otherwise", () => {
    const plan = planDeliveries(
      [
        remote("https://b.test/users/bob", "https://b.test/users/bob/inbox", "https://b.test/inbox"),
        remote("https://b.test/users/carol", "https://b.test/users/carol/inbox", "https://b.test/inbox"),
        remote("https://c.test/users/dave", "https://c.test/users/dave/inbox"),
        remote("https://c.test/users/erin", "https://c.test/users/erin/inbox"),
        { kind: "local", actorId: "https://a.test/users/alice", username: "alice" },
      ],
      [],
    );
    expect(plan.remote).toEqual([
      {
        inbox: "https://b.test/inbox",
        recipients: ["https://b.test/users/bob", "https://b.test/users/carol"],
      },
      { inbox: "https://c.test/users/dave/inbox", recipients: ["https://c.test/users/dave"] },
      { inbox: "https://c.test/users/erin/inbox", recipients: ["https://c.test/users/erin"] },
    ]);
    expect(plan.localUsernames).toEqual(["alice"]);
  });

  it("drops excluded actors and duplicates", () => {
    const bob = remote("https://b.test/users/bob", "https://b.test/users/bob/inbox", "https://b.test/inbox");
    const plan = planDeliveries(
      [bob, bob, { kind: "local", actorId: "https://a.test/users/alice", username: "alice" }],
      ["https://a.test/users/alice"],
    );
    expect(plan).toEqual({
      localUsernames: [],
      remote: [{ inbox: "https://b.test/inbox", recipients: [bob.actorId] }],
    });
    expect(planDeliveries([bob], [bob.actorId]).remote).toEqual([]);
  });
});

describe("audience URIs", () => {
  it("never delivers to the public collection or non-http URIs", () => {
    expect(isDeliverableUri("https://www.w3.org/ns/activitystreams#Public")).toBe(false);
    expect(isDeliverableUri("as:Public")).toBe(false);
    expect(isDeliverableUri("acct:bob@b.test")).toBe(false);
    expect(isDeliverableUri("https://b.test/users/bob")).toBe(true);
  });

  it("recognises this provider's user actor URLs only", () => {
    const prefix = "https://a.test/users/";
    expect(localUsernameOf("https://a.test/users/alice", prefix, isLocalUsername)).toBe("alice");
    expect(localUsernameOf("https://a.test/users/alice/followers", prefix, isLocalUsername)).toBeUndefined();
    expect(localUsernameOf("https://a.test/users/Not%20Valid", prefix, isLocalUsername)).toBeUndefined();
    expect(localUsernameOf("https://b.test/users/alice", prefix, isLocalUsername)).toBeUndefined();
  });

  it("strips bto and bcc from the delivered body", () => {
    const body = deliveryBody({ id: "x", type: "Create", bto: ["secret"], bcc: ["hidden"], to: ["y"] });
    expect(JSON.parse(body)).toEqual({ id: "x", type: "Create", to: ["y"] });
  });
});

describe("parseRemoteDocument", () => {
  it("reads an actor's inbox, shared inbox and key id", () => {
    const parsed = parseRemoteDocument(
      {
        id: "https://b.test/users/bob",
        type: "Person",
        inbox: "https://b.test/users/bob/inbox",
        endpoints: { sharedInbox: "https://b.test/inbox" },
        publicKey: { id: "https://b.test/users/bob#main-key" },
      },
      "https://b.test/users/bob",
    );
    expect(parsed).toEqual({
      kind: "actor",
      actor: {
        id: "https://b.test/users/bob",
        inbox: "https://b.test/users/bob/inbox",
        sharedInbox: "https://b.test/inbox",
        publicKeyId: "https://b.test/users/bob#main-key",
      },
    });
  });

  it("refuses an actor served from another origin", () => {
    const parsed = parseRemoteDocument(
      { id: "https://b.test/users/bob", inbox: "https://b.test/i" },
      "https://evil.test/bob",
    );
    expect(parsed.kind).toBe("other");
  });

  it("reads collections with embedded or linked pages", () => {
    expect(
      parseRemoteDocument(
        {
          type: "OrderedCollection",
          first: { type: "OrderedCollectionPage", orderedItems: ["https://b.test/u/1"] },
        },
        "https://b.test/f",
      ),
    ).toMatchObject({ kind: "collection", items: [], first: { orderedItems: ["https://b.test/u/1"] } });
    expect(
      parseRemoteDocument(
        {
          type: "CollectionPage",
          items: [{ id: "https://b.test/u/2" }, 42],
          next: "https://b.test/f?page=2",
        },
        "https://b.test/f",
      ),
    ).toEqual({
      kind: "collection",
      items: ["https://b.test/u/2"],
      first: undefined,
      next: "https://b.test/f?page=2",
    });
  });
});

describe("followers collections are addressed only by their owner", () => {
  const channel = "https://a.test/channels/c1";

  it("finds the owner of a followers collection however its URL is written", () => {
    for (const uri of [
      `${channel}/followers`,
      `${channel}/followers/`,
      `${channel}/Followers`,
      `${channel}/follower%73`,
      `${channel}/followers?page=1`,
      `${channel}/followers#x`,
    ]) {
      expect(followersCollectionOwner(uri)).toBe(channel);
    }
    expect(followersCollectionOwner("https://b.test/followers")).toBe("https://b.test");
    expect(followersCollectionOwner(channel)).toBeUndefined();
    expect(followersCollectionOwner(`${channel}/following`)).toBeUndefined();
    expect(followersCollectionOwner("not a url")).toBeUndefined();
  });

  it("refuses another actor's followers collection and allows the owner's", () => {
    expect(collectionRefusal(`${channel}/followers`, channel)).toBeUndefined();
    expect(collectionRefusal(`${channel}/followers`, `${channel}/`)).toBeUndefined();
    expect(collectionRefusal(`${channel}/followers`, "https://a.test/users/mallory")).toContain(
      "only https://a.test/channels/c1 addresses it",
    );
    expect(collectionRefusal("https://b.test/channels/c2/followers?page=0", channel)).toBeDefined();
    expect(collectionRefusal("https://b.test/lists/friends", "https://a.test/users/alice")).toBeUndefined();
  });

  it("looks at where a collection came from, what it says it is and whether it lists a channel's members", () => {
    const alice = "https://a.test/users/alice";
    expect(documentRefusal({ type: "OrderedCollection" }, "https://b.test/lists/1", alice)).toBeUndefined();
    // Redirected to a channel's followers.
    expect(documentRefusal({ type: "OrderedCollection" }, `${channel}/followers`, alice)).toBeDefined();
    expect(
      documentRefusal({ type: "OrderedCollection", id: `${channel}/followers` }, "https://b.test/x", alice),
    ).toBeDefined();
    expect(
      documentRefusal(
        { type: "OrderedCollectionPage", partOf: { id: `${channel}/followers` } },
        "https://b.test/x?page=1",
        alice,
      ),
    ).toBeDefined();
    expect(
      documentRefusal({ type: "OrderedCollection", "mimi:roles": {} }, "https://b.test/members", alice),
    ).toContain("mimi:roles");
    expect(
      documentRefusal(
        { type: "OrderedCollection", id: `${channel}/followers`, "mimi:roles": {} },
        `${channel}/followers`,
        channel,
      ),
    ).toBeUndefined();
  });
});
