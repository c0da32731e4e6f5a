import { describe, expect, it } from "vitest";
import { decideReaderAccess, type ReaderBasis } from "./access.js";

const followers = ["https://a.example/users/alice", "https://b.example/users/bob"];
const now = new Date("2030-01-01T12:00:00Z");
const secondsBefore = (seconds: number) => new Date(now.getTime() - seconds * 1000);

const basis = (overrides: Partial<ReaderBasis> = {}): ReaderBasis => ({
  resource: "followers",
  followers,
  removed: [],
  now,
  removedReaderGraceSeconds: 600,
  ...overrides,
});

const server = (signer: string) => ({ kind: "server", signer }) as const;

describe("decideReaderAccess", () => {
  it("lets servers hosting a member read, by the signer's origin", () => {
    for (const resource of ["followers", "groupInfo", "log"] as const) {
      expect(decideReaderAccess(server("https://b.example/actor"), basis({ resource })).allow).toBe(true);
    }
    expect(decideReaderAccess(server("https://c.example/actor"), basis()).allow).toBe(false);
    expect(decideReaderAccess(server("https://b.example:8443/actor"), basis()).allow).toBe(false);
    expect(decideReaderAccess(server("not a url"), basis()).allow).toBe(false);
  });

  it("lets local members read", () => {
    expect(decideReaderAccess({ kind: "localUser", actorUrl: followers[0] ?? "" }, basis()).allow).toBe(true);
    expect(
      decideReaderAccess({ kind: "localUser", actorUrl: "https://a.example/users/erin" }, basis()).allow,
    ).toBe(false);
  });

  it("lets the server of a removed member read the followers only, during the grace period", () => {
    const removed = [{ actorUrl: "https://c.example/users/carol", removedAt: secondsBefore(600) }];
    const carolsServer = server("https://c.example/actor");
    expect(decideReaderAccess(carolsServer, basis({ removed })).allow).toBe(true);
    expect(decideReaderAccess(carolsServer, basis({ removed, resource: "groupInfo" })).allow).toBe(false);
    expect(decideReaderAccess(carolsServer, basis({ removed, resource: "log" })).allow).toBe(false);
    expect(decideReaderAccess(carolsServer, basis({ removed, removedReaderGraceSeconds: 599 })).allow).toBe(
      false,
    );
    expect(decideReaderAccess(carolsServer, basis({ removed, removedReaderGraceSeconds: 0 })).allow).toBe(
      false,
    );
    expect(decideReaderAccess(server("https://d.example/actor"), basis({ removed })).allow).toBe(false);
  });

  it("does not extend the grace period to removed local users", () => {
    const removed = [{ actorUrl: "https://a.example/users/carol", removedAt: now }];
    expect(
      decideReaderAccess({ kind: "localUser", actorUrl: "https://a.example/users/carol" }, basis({ removed }))
        .allow,
    ).toBe(false);
  });
});
