import { describe, expect, it } from "vitest";
import { departingActor, isLeave } from "../src/conversation/departures.js";

const BEN = "http://b.test/users/ben";

describe("departures in a channel's log", () => {
  it("reads the leaver of a Leave and the deleted actor of a Delete", () => {
    expect(departingActor({ type: "Leave", actor: BEN, object: "http://a.test/channels/c" })).toBe(BEN);
    expect(departingActor({ type: "Delete", actor: BEN, object: BEN })).toBe(BEN);
    // An account deleted and announced by its origin's instance actor.
    expect(departingActor({ type: "Delete", actor: "http://b.test/actor", object: { id: BEN } })).toBe(BEN);
  });

  it("sees no departure in other entries", () => {
    expect(departingActor({ type: "Remove", actor: BEN, object: BEN })).toBeUndefined();
    expect(isLeave({ type: "Create", actor: BEN, object: { type: "PrivateMessage" } })).toBe(false);
    expect(isLeave({ type: "Delete", actor: BEN })).toBe(false);
  });
});
