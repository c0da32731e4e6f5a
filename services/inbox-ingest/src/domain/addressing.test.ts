import { providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import {
  addressedLocalUsernames,
  localChannelIdOf,
  localUsernameOf,
  referenceIds,
  targetKey,
} from "./addressing.js";
import { routeOutboxActivity } from "./outbox-routing.js";

const urls = providerUrls("b.example", "https://b.example");
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";

describe("local addresses", () => {
  it("recognises only canonical local actor URLs", () => {
    expect(localUsernameOf(urls, "https://b.example/users/bob")).toBe("bob");
    for (const other of [
      "https://b.example/users/bob/inbox",
      "https://b.example/users/bob#main-key",
      "https://b.example/users/Bob",
      "https://b.example/users/",
      "https://a.example/users/bob",
      "https://b.example/channels/bob",
      "https://b.example/users/%E0%A4%A",
    ]) {
      expect(localUsernameOf(urls, other), other).toBeUndefined();
    }
  });

  it("recognises local channels and their followers collections", () => {
    expect(localChannelIdOf(urls, "https://b.example/channels/room")).toBe("room");
    expect(localChannelIdOf(urls, "https://b.example/channels/room/followers")).toBe("room");
    expect(localChannelIdOf(urls, "https://b.example/channels/a%20b")).toBe("a b");
    for (const other of [
      "https://b.example/channels/",
      "https://b.example/channels/room/inbox",
      "https://a.example/channels/room",
      "https://b.example/users/room",
    ]) {
      expect(localChannelIdOf(urls, other), other).toBeUndefined();
    }
  });

  it("lists local users named in any addressing field once each", () => {
    const activity = {
      to: ["https://b.example/users/bob", "https://a.example/users/carol", PUBLIC],
      cc: "https://b.example/users/alice",
      bcc: ["https://b.example/users/eve"],
      bto: ["https://b.example/users/frank"],
      audience: ["https://b.example/users/grace"],
    };
    expect(addressedLocalUsernames(urls, activity)).toEqual(["bob", "alice", "frank", "eve", "grace"]);
    expect(
      addressedLocalUsernames(urls, {
        to: ["https://b.example/users/bob"],
        cc: ["https://b.example/users/bob"],
      }),
    ).toEqual(["bob"]);
  });

  it("reads references as strings, objects and arrays", () => {
    expect(referenceIds("x")).toEqual(["x"]);
    expect(referenceIds({ id: "y", type: "Person" })).toEqual(["y"]);
    expect(referenceIds(["x", { id: "y" }, 3, null])).toEqual(["x", "y"]);
    expect(referenceIds(undefined)).toEqual([]);
  });

  it("keys targets distinctly", () => {
    const keys = [
      targetKey({ kind: "user", username: "bob" }),
      targetKey({ kind: "outbox", username: "bob" }),
      targetKey({ kind: "channel", channelId: "bob" }),
      targetKey({ kind: "shared" }),
    ];
    expect(new Set(keys).size).toBe(4);
  });
});

describe("routeOutboxActivity", () => {
  const base = { id: "https://b.example/activities/1", actor: "https://b.example/users/bob" };

  it("sends channel messages, Add/Remove/Update and channel creation to the channel", () => {
    const cases = [
      {
        ...base,
        type: "Create",
        to: ["https://b.example/channels/room/followers"],
        object: { type: "PrivateMessage" },
      },
      {
        ...base,
        type: "Add",
        object: "https://a.example/users/carol",
        target: "https://b.example/channels/room",
      },
      {
        ...base,
        type: "Remove",
        object: "https://a.example/users/carol",
        target: { id: "https://b.example/channels/room" },
      },
      {
        ...base,
        type: "Update",
        object: { id: "https://b.example/channels/room", type: "Service", name: "x" },
      },
      { ...base, type: "Create", object: { id: "https://b.example/channels/room", type: "Service" } },
    ];
    for (const activity of cases) {
      expect(routeOutboxActivity(urls, activity), activity.type).toEqual({
        kind: "channel",
        channelId: "room",
        // Only the creation of a channel goes to it although it does not exist yet.
        newChannel:
          activity.type === "Create" &&
          typeof activity.object === "object" &&
          activity.object.type === "Service",
      });
    }
  });

  it("routes a local channel named only in bto, bcc or audience to the channel, which checks membership", () => {
    for (const field of ["bto", "bcc", "audience"]) {
      for (const address of [
        "https://b.example/channels/room/followers",
        "https://b.example/channels/room",
      ]) {
        const route = routeOutboxActivity(urls, {
          ...base,
          type: "Create",
          object: { type: "Note", content: "hi" },
          to: ["https://a.example/users/carol"],
          [field]: [address],
        });
        expect(route, `${field}: ${address}`).toEqual({
          kind: "channel",
          channelId: "room",
          newChannel: false,
        });
      }
    }
  });

  it("delivers everything else to its audience without Public, bto and bcc", () => {
    const route = routeOutboxActivity(urls, {
      ...base,
      type: "Create",
      to: ["https://a.example/users/carol", PUBLIC],
      cc: ["https://b.example/users/alice"],
      bcc: ["https://c.example/users/dan"],
      object: { type: "PrivateMessage" },
    });
    expect(route).toEqual({
      kind: "delivery",
      audience: [
        "https://a.example/users/carol",
        "https://b.example/users/alice",
        "https://c.example/users/dan",
      ],
      activity: {
        ...base,
        type: "Create",
        to: ["https://a.example/users/carol", PUBLIC],
        cc: ["https://b.example/users/alice"],
        object: { type: "PrivateMessage" },
      },
    });
  });

  it("refuses ambiguous, unnamed-channel and unaddressed activities", () => {
    expect(
      routeOutboxActivity(urls, {
        ...base,
        type: "Add",
        object: "https://b.example/channels/one",
        target: "https://b.example/channels/two",
      }),
    ).toMatchObject({ kind: "invalid", reason: "ambiguousChannel" });
    expect(
      routeOutboxActivity(urls, { ...base, type: "Create", object: { type: "Service", name: "new" } }),
    ).toMatchObject({
      kind: "invalid",
      reason: "newChannelWithoutId",
    });
    // A local channel and a remote one at once.
    expect(
      routeOutboxActivity(urls, {
        ...base,
        type: "Create",
        object: { type: "PrivateMessage" },
        target: "https://a.example/channels/far",
        to: ["https://a.example/channels/far/followers", "https://b.example/channels/room/followers"],
      }),
    ).toMatchObject({ kind: "invalid", reason: "ambiguousChannel" });
    expect(routeOutboxActivity(urls, { ...base, type: "Create", to: [PUBLIC] })).toMatchObject({
      kind: "invalid",
      reason: "noAudience",
    });
  });
});

describe("routeOutboxActivity for channels", () => {
  const base = { id: "https://b.example/users/bob/activities/1", actor: "https://b.example/users/bob" };
  const far = "https://a.example/channels/far";
  const farFollowers = `${far}/followers`;

  it("delivers an activity through a remote channel to the channel only, keeping to: [F]", () => {
    const kinds = [
      { type: "Create", object: { type: "PrivateMessage", content: "AA" } },
      { type: "Add", object: "https://c.example/users/dan", "mimi:welcome": { type: "Welcome" } },
      { type: "Remove", object: "https://c.example/users/dan" },
      { type: "Update", object: { type: "Service", id: far, name: "Far" } },
    ];
    for (const fields of kinds) {
      const activity = {
        ...base,
        ...fields,
        target: far,
        to: [farFollowers],
        cc: ["https://c.example/users/x"],
      };
      expect(
        routeOutboxActivity(urls, { ...activity, bcc: ["https://c.example/users/y"] }),
        fields.type,
      ).toEqual({
        kind: "delivery",
        audience: [far],
        activity,
      });
    }
  });

  it("treats a remote target without its followers in `to` as an ordinary delivery", () => {
    const route = routeOutboxActivity(urls, {
      ...base,
      type: "Add",
      object: "https://b.example/users/bob/notes/1",
      target: "https://a.example/users/carol/featured",
      to: ["https://a.example/users/carol"],
    });
    expect(route).toMatchObject({ kind: "delivery", audience: ["https://a.example/users/carol"] });
  });

  it("sends a Create{Service} for a new local channel to that channel", () => {
    const channel = "https://b.example/channels/AAECAwQFBgcICQoLDA0ODw";
    const route = routeOutboxActivity(urls, {
      ...base,
      type: "Create",
      object: { type: "Service", id: channel, name: "New" },
      "mimi:groupInfo": { type: "GroupInfo" },
      target: channel,
      to: [`${channel}/followers`],
    });
    expect(route).toEqual({ kind: "channel", channelId: "AAECAwQFBgcICQoLDA0ODw", newChannel: true });
  });

  it("refuses a Create{Service} for another provider's channel or naming two channels", () => {
    expect(
      routeOutboxActivity(urls, {
        ...base,
        type: "Create",
        object: { type: "Service", id: far, name: "x" },
        target: far,
        to: [farFollowers],
      }),
    ).toMatchObject({ kind: "invalid", reason: "channelNotLocal" });
    expect(
      routeOutboxActivity(urls, {
        ...base,
        type: "Create",
        object: { type: "Service", id: "https://b.example/channels/room/followers" },
      }),
    ).toMatchObject({ kind: "invalid", reason: "channelNotLocal" });
    expect(
      routeOutboxActivity(urls, {
        ...base,
        type: "Create",
        object: { type: "Service", id: "https://b.example/channels/room" },
        target: "https://b.example/channels/other",
      }),
    ).toMatchObject({ kind: "invalid", reason: "ambiguousChannel" });
  });
});
