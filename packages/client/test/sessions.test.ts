import { beforeAll, describe, expect, it } from "vitest";
import { isSessionEnded, MimiApiError, ProviderApi } from "../src/api.js";
import { StateStore } from "../src/state.js";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test"]);
});

/** Another session of the same account (a second device or browser logging in). */
async function otherSession(username: string, password = "a long password"): Promise<ProviderApi> {
  const api = new ProviderApi({ server: "http://a.test", fetch: network.fetch });
  return api.withToken((await api.createToken(username, password)).token);
}

const storedToken = async (home: string, handle: string) =>
  (await new StateStore(home).loadAccount(handle))?.token;

describe("sessions", () => {
  it("logs this session out, drops the stored token and leaves the others", async () => {
    const alice = await newAccount(network, "alice@a.test");
    const laptop = await otherSession("alice");
    const sessions = await alice.client.sessions();
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((session) => session.current)).toHaveLength(1);

    expect(await alice.client.logOut()).toEqual({ revoked: 1, alreadyEnded: false });
    expect(await storedToken(alice.home, "alice@a.test")).toBe("");
    const refused = await alice.client.inbox().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MimiApiError);
    expect(isSessionEnded(refused)).toBe(true);
    expect((await laptop.me()).username).toBe("alice");
    // Logging out of a session that has ended already still forgets it, and says so.
    expect(await alice.client.logOut()).toEqual({ revoked: 0, alreadyEnded: true });
  });

  it("logs every session out", async () => {
    const bob = await newAccount(network, "bob@a.test");
    const laptop = await otherSession("bob");
    expect(await bob.client.logOut({ everywhere: true })).toEqual({ revoked: 2, alreadyEnded: false });
    expect(isSessionEnded(await laptop.me().catch((error: unknown) => error))).toBe(true);
    expect(await storedToken(bob.home, "bob@a.test")).toBe("");
  });

  it("ends one listed session", async () => {
    const carol = await newAccount(network, "carol@a.test");
    const laptop = await otherSession("carol");
    const other = (await carol.client.sessions()).find((session) => !session.current);
    expect(other).toBeDefined();
    await carol.client.endSession(other?.id ?? "");
    expect(isSessionEnded(await laptop.me().catch((error: unknown) => error))).toBe(true);
    expect(await carol.client.sessions()).toHaveLength(1);
    await expect(carol.client.endSession("0000000000000000")).rejects.toMatchObject({ status: 404 });
  });

  it("changes the password, logging the other sessions out", async () => {
    const dave = await newAccount(network, "dave@a.test");
    const laptop = await otherSession("dave");
    await expect(dave.client.changePassword("not it", "a new long password")).rejects.toMatchObject({
      status: 403,
    });
    expect(await dave.client.changePassword("a long password", "a new long password")).toEqual({
      revoked: 1,
    });
    expect(isSessionEnded(await laptop.me().catch((error: unknown) => error))).toBe(true);
    expect((await dave.client.sessions()).map((session) => session.current)).toEqual([true]);
    await expect(otherSession("dave")).rejects.toMatchObject({ status: 401 });
    expect((await (await otherSession("dave", "a new long password")).me()).username).toBe("dave");
  });
});
