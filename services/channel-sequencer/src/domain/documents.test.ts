import { providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { followersCollection, logPage, sequencedActivity } from "./documents.js";
import { roleTableOf } from "./roles.js";

const urls = providerUrls("a.example", "https://a.example");
const alice = "https://a.example/users/alice";
const bob = "https://b.example/users/bob";

describe("followersCollection", () => {
  it("lists the members in orderedItems and gives each a role in mimi:roles", () => {
    const roles = roleTableOf([alice, bob], new Map([[alice, "owner"]]));
    expect(followersCollection(urls, "abc", roles)).toMatchObject({
      id: "https://a.example/channels/abc/followers",
      type: "OrderedCollection",
      totalItems: 2,
      orderedItems: [alice, bob],
      "mimi:roles": { [alice]: "owner", [bob]: "member" },
    });
  });
});

describe("sequencedActivity and logPage", () => {
  it("give the forwarded copy and the log item the same sequence, whatever was submitted", () => {
    const submitted = { id: `${alice}/activities/1`, type: "Create", "mimi:sequence": 999 };
    expect(sequencedActivity(submitted, 7)).toEqual({ ...submitted, "mimi:sequence": 7 });
    expect(submitted["mimi:sequence"]).toBe(999);
    const page = logPage(urls, "abc", [{ sequence: 7, epoch: 2, activity: submitted }], 10);
    expect(page.items).toEqual([{ sequence: 7, epoch: 2, activity: sequencedActivity(submitted, 7) }]);
    expect(page.next).toBeNull();
  });
});
