import { describe, expect, it } from "vitest";
import { decideReaderAccess } from "./access.js";

const followers = ["https://a.example/users/alice", "https://b.example/users/bob"];

describe("decideReaderAccess", () => {
  it("lets servers hosting a member read, by the signer's origin", () => {
    expect(decideReaderAccess({ kind: "server", signer: "https://b.example/actor" }, followers).allow).toBe(
      true,
    );
    expect(decideReaderAccess({ kind: "server", signer: "https://c.example/actor" }, followers).allow).toBe(
      false,
    );
    expect(
      decideReaderAccess({ kind: "server", signer: "https://b.example:8443/actor" }, followers).allow,
    ).toBe(false);
    expect(decideReaderAccess({ kind: "server", signer: "not a url" }, followers).allow).toBe(false);
  });

  it("lets local members read", () => {
    expect(decideReaderAccess({ kind: "localUser", actorUrl: followers[0] ?? "" }, followers).allow).toBe(
      true,
    );
    expect(
      decideReaderAccess({ kind: "localUser", actorUrl: "https://a.example/users/erin" }, followers).allow,
    ).toBe(false);
  });
});
