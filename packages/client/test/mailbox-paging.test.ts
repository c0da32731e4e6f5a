import { beforeAll, describe, expect, it } from "vitest";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test"]);
});

const mailboxReads = () => network.requests.filter((request) => request.endsWith("/api/v1/mailbox")).length;

describe("sync reads the whole mailbox", () => {
  it("keeps paging past short pages until a page comes back empty", async () => {
    const alice = await newAccount(network, "alice@a.test");
    for (let i = 0; i < 7; i += 1)
      network.deliver(
        alice.actor,
        {
          id: `http://a.test/users/mallory/activities/${i}`,
          type: "Like",
          actor: "http://a.test/users/mallory",
        },
        "http://a.test/users/mallory",
      );
    // The server answers at most 3 items a page, far fewer than the client asks for (as a page
    // capped by bytes would).
    network.mailboxPageCap = 3;
    try {
      const before = mailboxReads();
      const result = await alice.client.sync();
      expect(result.processed).toBe(7);
      expect(result.cursor).toBe(network.user("alice@a.test")?.mailbox.at(-1)?.cursor);
      // 3 + 3 + 1, then the empty page that says the end.
      expect(mailboxReads() - before).toBe(4);
      const again = mailboxReads();
      expect((await alice.client.sync()).processed).toBe(0);
      expect(mailboxReads() - again).toBe(1);
    } finally {
      network.mailboxPageCap = undefined;
    }
  });
});
