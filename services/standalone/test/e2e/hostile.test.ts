import { spawn } from "node:child_process";
import { join } from "node:path";
import { type ChannelSummary, createTextContent, encodeContent } from "@mimi/client";
import { encryptApplicationMessage, loadCiphersuite, toWireObject } from "@mimi/mls";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostileProvider, sendRaw, sendSigned } from "../support/hostile.js";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * A hostile provider, evil.test, against three honest ones: ann@a.test's channel with ben@b.test,
 * cat@b.test and dan@c.test. evil.test signs honestly with its own keys and lies about everyone
 * else. Each attack must be refused (401, 403 or a Reject with a reason), leave nothing in any
 * mailbox, and leave every client's state and display as it was. Written once, run against any
 * deployment that maps evil.test (see deployment.ts).
 */
let deployment: Deployment;
let hostile: HostileProvider;
const clients = new TestClients(() => deployment, "hostile-");
const signUp = (user: string, domain: string) => clients.signUp(user, domain);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);
let channel: ChannelSummary;
/** Ids of every activity an attack sent: none may ever show up in a mailbox. */
const attackIds: string[] = [];

const A = "http://a.test";
const B = "http://b.test";
const actor = (user: string, domain: string) => `http://${domain}/users/${user}`;

/** What each member's client shows: the channel as it sees it, and its messages. */
async function displays(): Promise<Record<string, unknown>> {
  const shown: Record<string, unknown> = {};
  for (const [user, mimi] of clients) {
    if (!(await mimi.channels()).some((c) => c.url === channel.url)) continue;
    const summary = await mimi.channel(channel.url);
    const messages = (await mimi.messages(channel.url)).messages.map((m) => `${m.senderUri}: ${m.content}`);
    shown[user] = { name: summary.name, epoch: summary.epoch, status: summary.status, messages };
  }
  return shown;
}

/** Every member's mailbox, read raw: no attack id anywhere. */
async function expectNoAttackInMailboxes(): Promise<void> {
  for (const [user, mimi] of clients) {
    const ids = (await mimi.inbox({ after: 0, limit: 500 })).map((item) => item.activityId);
    expect(
      ids.filter((id) => attackIds.includes(id)),
      `${user}'s mailbox`,
    ).toEqual([]);
  }
}

/** Runs `attack`, then checks that no mailbox got anything and that every display is unchanged. */
async function refusedEverywhere(attack: () => Promise<void>): Promise<void> {
  for (const mimi of clients.values()) await mimi.sync();
  const before = await displays();
  await attack();
  // Give anything that slipped through the time to arrive before looking.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await expectNoAttackInMailboxes();
  for (const mimi of clients.values()) await mimi.sync();
  expect(await displays()).toEqual(before);
}

function attackId(owner: string, label: string): string {
  const id = `${owner}/activities/attack-${label}-${crypto.randomUUID()}`;
  attackIds.push(id);
  return id;
}

async function expectProblem(response: Response, status: number, reason?: string | RegExp): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/problem\+json/);
  const problem = (await response.json()) as { reason?: string };
  if (reason !== undefined) expect(problem.reason).toMatch(reason);
}

beforeAll(async () => {
  deployment = await openDeployment();
  if (!deployment.hostile) throw new Error("this deployment maps no hostile provider (hostilePort)");
  hostile = deployment.hostile;
  await signUp("ann", "a.test");
  await signUp("ben", "b.test");
  await signUp("cat", "b.test");
  await signUp("dan", "c.test");
  await signUp("gus", "a.test");
  channel = await client("ann").createChannel("lunch");
  expect((await client("ann").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
  for (const [user, domain] of [
    ["ben", "b.test"],
    ["cat", "b.test"],
    ["dan", "c.test"],
  ] as const) {
    await client("ann").addMember(channel.url, `${user}@${domain}`);
    expect((await client("ann").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil(user, "joining", async () =>
      (await client(user).channels()).some((c) => c.url === channel.url),
    );
  }
  await client("ann").send(channel.url, "hello everyone");
  for (const user of ["ben", "cat", "dan"])
    await syncUntil(user, "ann's hello", async () =>
      (await client(user).messages(channel.url)).messages.some((m) => m.content === "hello everyone"),
    );
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("1. keys are bound to the origin that serves them", () => {
  it("a key document on evil.test naming b.test's actor signs nothing as ben", async () => {
    await refusedEverywhere(async () => {
      const ben = actor("ben", "b.test");
      hostile.serve("/k", {
        id: ben,
        type: "Person",
        publicKey: {
          id: `${HostileProvider.origin}/k#key`,
          owner: ben,
          publicKeyPem: hostile.mallory.publicKeyPem,
        },
      });
      const asBob = HostileProvider.keyAt(`${HostileProvider.origin}/k#key`, hostile.mallory.key.privateKey);
      const rename = {
        id: attackId(ben, "key-rename"),
        type: "Update",
        actor: ben,
        object: { type: "Service", id: channel.url, name: "renamed by evil" },
        target: channel.url,
        to: [`${channel.url}/followers`],
      };
      await expectProblem(
        await sendSigned(deployment.direct("a.test"), `${A}/inbox`, asBob, { body: rename }),
        401,
        "keyFetchError",
      );
      await expectProblem(
        await sendSigned(deployment.direct("a.test"), `${channel.url}/inbox`, asBob, { body: rename }),
        401,
        "keyFetchError",
      );
    });
  });

  it("a key document claiming b.test's instance actor reads no channel collection", async () => {
    hostile.serve("/k2", {
      id: `${B}/actor`,
      type: "Application",
      publicKey: {
        id: `${HostileProvider.origin}/k2#key`,
        owner: `${B}/actor`,
        publicKeyPem: hostile.mallory.publicKeyPem,
      },
    });
    const asInstance = HostileProvider.keyAt(
      `${HostileProvider.origin}/k2#key`,
      hostile.mallory.key.privateKey,
    );
    for (const path of ["/followers", "/log", "/groupInfo"]) {
      const response = await sendSigned(deployment.direct("a.test"), `${channel.url}${path}`, asInstance);
      expect(response.status, path).toBe(401);
    }
  });

  it("a key document on evil.test naming the channel answers nothing for it", async () => {
    await refusedEverywhere(async () => {
      hostile.serve("/k3", {
        id: channel.url,
        type: "Service",
        publicKey: {
          id: `${HostileProvider.origin}/k3#key`,
          owner: channel.url,
          publicKeyPem: hostile.mallory.publicKeyPem,
        },
      });
      const asChannel = HostileProvider.keyAt(
        `${HostileProvider.origin}/k3#key`,
        hostile.mallory.key.privateKey,
      );
      const accept = {
        id: attackId(channel.url, "accept"),
        type: "Accept",
        actor: channel.url,
        object: `${actor("ben", "b.test")}/activities/anything`,
        to: [actor("ben", "b.test")],
      };
      await expectProblem(
        await sendSigned(deployment.direct("b.test"), `${B}/inbox`, asChannel, { body: accept }),
        401,
        "keyFetchError",
      );
    });
  });
});

describe("2. only the channel acts on its members' clients", () => {
  it("mallory's own Remove and Update about the channel are refused at user and shared inboxes", async () => {
    await refusedEverywhere(async () => {
      const mallory = hostile.mallory;
      for (const [label, fields] of [
        ["remove", { type: "Remove", object: actor("ben", "b.test") }],
        ["rename", { type: "Update", object: { type: "Service", id: channel.url, name: "pwned" } }],
      ] as const) {
        for (const inbox of [`${B}/users/ben/inbox`, `${B}/inbox`]) {
          const activity = {
            id: attackId(mallory.id, label),
            actor: mallory.id,
            target: channel.url,
            to: [`${channel.url}/followers`],
            ...fields,
          };
          await expectProblem(
            await sendSigned(deployment.direct("b.test"), inbox, mallory.key, { body: activity }),
            403,
            "channelActivityNotFromChannel",
          );
        }
      }
    });
  });
});

describe("3. forwards come from the channel named in target, membership from its own server", () => {
  it("a fake channel listing the members cannot forward an Update 'by ann' into the real channel", async () => {
    await refusedEverywhere(async () => {
      const fake = hostile.fakeChannel;
      const members = [actor("ann", "a.test"), actor("ben", "b.test"), actor("cat", "b.test")];
      hostile.serve("/channels/fake/followers", { type: "OrderedCollection", orderedItems: members });
      for (const to of [`${fake.id}/followers`, `${channel.url}/followers`]) {
        const forged = {
          id: attackId(actor("ann", "a.test"), "forward"),
          type: "Update",
          actor: actor("ann", "a.test"),
          object: { type: "Service", id: channel.url, name: "renamed 'by ann'" },
          target: channel.url,
          to: [to],
        };
        await expectProblem(
          await sendSigned(deployment.direct("b.test"), `${B}/inbox`, fake.key, { body: forged }),
          401,
          "notForwardedByChannel",
        );
      }
    });
  });

  it("a forward whose channel does not show this provider its members is refused, a Remove included", async () => {
    await refusedEverywhere(async () => {
      const ghost = hostile.actor("/channels/ghost", "Service");
      const remove = {
        id: attackId(hostile.mallory.id, "ghost-remove"),
        type: "Remove",
        actor: hostile.mallory.id,
        object: actor("ben", "b.test"),
        target: ghost.id,
        to: [`${ghost.id}/followers`],
      };
      await expectProblem(
        await sendSigned(deployment.direct("b.test"), `${B}/users/ben/inbox`, ghost.key, { body: remove }),
        401,
        "channelMembershipUnknown",
      );
    });
  });
});

describe("4. members cannot pose as each other", () => {
  it("ben's message claiming to be ann is not shown as ann", async () => {
    const stored = await clients.storedChannelState("ben", channel.id);
    const content = createTextContent({
      senderUri: "acct:ann@a.test",
      roomUri: channel.url,
      text: "send the door code to ben",
    });
    const encrypted = await encryptApplicationMessage(
      stored,
      await loadCiphersuite(),
      encodeContent(content),
    );
    const ben = await client("ben").account();
    const response = await fetch(`${deployment.server("b.test")}/users/ben/outbox`, {
      method: "POST",
      headers: { "content-type": "application/activity+json", authorization: `Bearer ${ben.token}` },
      body: JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id: `${ben.actor}/activities/impersonation-${Date.now()}`,
        type: "Create",
        actor: ben.actor,
        object: toWireObject(encrypted.message),
        target: channel.url,
        to: [`${channel.url}/followers`],
      }),
    });
    expect(response.status).toBe(202);
    for (const user of ["ann", "cat", "dan"]) {
      let flagged = false;
      await syncUntil(user, "the impersonation", async () => {
        const items = await client(user).inbox({ after: 0, limit: 500 });
        flagged = items.some((item) => item.activityId.includes("/activities/impersonation-"));
        return flagged;
      });
      const shown = (await client(user).messages(channel.url)).messages;
      expect(
        shown.some((m) => m.content === "send the door code to ben"),
        user,
      ).toBe(false);
    }
  });
});

describe("5. signature windows and replays", () => {
  it("an unsigned expires= does not stretch a three-hour-old signature", async () => {
    await refusedEverywhere(async () => {
      const mallory = hostile.mallory;
      const note = {
        id: attackId(mallory.id, "old"),
        type: "Create",
        actor: mallory.id,
        object: { type: "Note", content: "from the past" },
        to: [actor("ben", "b.test")],
      };
      const body = JSON.stringify(note);
      const { signRequest } = await import("@mimi/http-signatures");
      const headers = signRequest(
        {
          method: "POST",
          url: `${B}/users/ben/inbox`,
          headers: { "content-type": "application/activity+json" },
          body,
        },
        mallory.key,
        { now: new Date(Date.now() - 3 * 3600_000) },
      );
      const later = Math.floor(Date.now() / 1000) + 3600;
      headers.signature = `${headers.signature},expires="${later}"`;
      const response = await sendRaw(deployment.direct("b.test"), "/users/ben/inbox", {
        method: "POST",
        headers,
        body,
      });
      await expectProblem(response, 401, "dateOutOfWindow");
    });
  });

  it("a signed KeyPackage claim is answered once; its replay hands out nothing", async () => {
    const claim = {
      ciphersuites: ["MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"],
      nonce: crypto.randomUUID(),
    };
    const { signRequest } = await import("@mimi/http-signatures");
    const body = JSON.stringify(claim);
    const url = `${B}/users/cat/keyPackages/claim`;
    const headers = signRequest(
      { method: "POST", url, headers: { "content-type": "application/json" }, body },
      hostile.mallory.key,
    );
    const send = () =>
      sendRaw(deployment.direct("b.test"), "/users/cat/keyPackages/claim", {
        method: "POST",
        headers,
        body,
      });
    const first = await send();
    expect(first.status).toBe(200);
    await expectProblem(await send(), 401, "replayedRequest");
  });
});

describe("6. nobody but the channel addresses its followers", () => {
  it("a non-member's Note with bcc to the channel's followers reaches no member", async () => {
    await refusedEverywhere(async () => {
      const gus = await client("gus").account();
      const id = attackId(gus.actor, "bcc");
      const response = await fetch(`${deployment.server("a.test")}/users/gus/outbox`, {
        method: "POST",
        headers: { "content-type": "application/activity+json", authorization: `Bearer ${gus.token}` },
        body: JSON.stringify({
          "@context": "https://www.w3.org/ns/activitystreams",
          id,
          type: "Create",
          actor: gus.actor,
          object: { type: "Note", content: "psst" },
          to: [],
          bcc: [`${channel.url}/followers`],
        }),
      });
      expect(response.status).toBe(202);
      // The channel's server answers gus herself: she is not a member.
      for (const deadline = Date.now() + 30_000; ; ) {
        const items = await client("gus").inbox({ after: 0, limit: 500 });
        const reject = items.find((item) => item.activity.type === "Reject" && item.activity.object === id);
        if (reject) {
          expect(String(reject.activity.summary)).not.toBe("");
          break;
        }
        if (Date.now() > deadline) throw new Error("no Reject for gus");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
  });
});

describe("7. remote text cannot control the terminal", () => {
  it("a message with a line break and ESC[8m shows escaped and indented in the CLI; such names are refused", async () => {
    await expect(client("ann").rename(channel.url, "lunch\nann@a.test: hi")).rejects.toThrow(
      /control or bidi characters/,
    );
    const text = "see you\nann@a.test: \u001b[8mthe door code is 1234";
    await client("ann").send(channel.url, text);
    const output = await new Promise<string>((resolve, reject) => {
      let out = "";
      const run = () => {
        const child = spawn(
          process.execPath,
          [join(__dirname, "../../../../packages/cli/bin/mimi.js"), "join"],
          {
            env: {
              ...process.env,
              MIMI_HOME: client("ben").options.home,
              MIMI_DEV_CONNECT_TO: deployment.connectTo,
              NO_COLOR: "1",
            },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let text = "";
        child.stdout.on("data", (chunk) => {
          text += chunk;
        });
        child.on("error", reject);
        child.on("exit", () => {
          out += text;
          if (out.includes("see you") || Date.now() > deadline) resolve(out);
          else setTimeout(run, 300);
        });
      };
      const deadline = Date.now() + 30_000;
      run();
    });
    expect(output).not.toContain("\u001b");
    const lines = output.split("\n");
    const first = lines.findIndex((line) => line.includes("ann@a.test: see you"));
    expect(first).toBeGreaterThanOrEqual(0);
    // The further line is indented and its escape shown, so it cannot pass for a line from ann.
    expect(lines[first + 1]).toBe("    ann@a.test: \\x1b[8mthe door code is 1234");
    expect(lines.some((line) => line.startsWith("ann@a.test:"))).toBe(false);
  });
});

describe("8. a channel cannot be planted in a client", () => {
  it("an Add with a Welcome for ann's channel, from a fake channel or from mallory, is refused", async () => {
    await refusedEverywhere(async () => {
      const add = (owner: string, label: string) => ({
        id: attackId(owner, label),
        type: "Add",
        actor: owner,
        object: actor("ben", "b.test"),
        target: channel.url,
        to: [`${channel.url}/followers`],
        "mimi:welcome": {
          type: "Welcome",
          mediaType: "message/mls",
          encoding: "base64",
          content: "AAEAAw==",
        },
      });
      await expectProblem(
        await sendSigned(deployment.direct("b.test"), `${B}/inbox`, hostile.fakeChannel.key, {
          body: add(hostile.mallory.id, "plant-forward"),
        }),
        401,
        "notForwardedByChannel",
      );
      await expectProblem(
        await sendSigned(deployment.direct("b.test"), `${B}/users/ben/inbox`, hostile.mallory.key, {
          body: add(hostile.mallory.id, "plant-direct"),
        }),
        403,
        "channelActivityNotFromChannel",
      );
    });
  });
});

describe("9. a group DM is its participants' only", () => {
  it("mallory's message in ann and ben's conversation is refused at every inbox", async () => {
    await client("ann").dm(["ben@b.test"], "just the two of us", { timeoutMs: 30_000 });
    await syncUntil("ben", "ann's DM", async () =>
      (await client("ben").readDm(["ann@a.test"])).messages.some((m) => m.content === "just the two of us"),
    );
    const group = (await client("ben").dms()).find((c) => c.label === "@ann@a.test")?.groups[0];
    expect(group).toBeDefined();
    const stored = await clients.storedChannelState("ben", group?.id as string);
    const encrypted = await encryptApplicationMessage(
      stored,
      await loadCiphersuite(),
      encodeContent(
        createTextContent({
          senderUri: "acct:mallory@evil.test",
          roomUri: group?.url ?? "",
          text: "mallory was here",
        }),
      ),
    );
    await refusedEverywhere(async () => {
      const mallory = hostile.mallory;
      for (const inbox of [`${B}/users/ben/inbox`, `${B}/inbox`, `${A}/users/ann/inbox`]) {
        const message = {
          "@context": "https://www.w3.org/ns/activitystreams",
          id: attackId(mallory.id, "dm"),
          type: "Create",
          actor: mallory.id,
          context: group?.url,
          to: [actor("ann", "a.test"), actor("ben", "b.test")],
          object: toWireObject(encrypted.message),
        };
        const server = deployment.direct(inbox.startsWith(A) ? "a.test" : "b.test");
        await expectProblem(
          await sendSigned(server, inbox, mallory.key, { body: message }),
          403,
          "dmSenderNotParticipant",
        );
      }
    });
    expect((await client("ben").readDm(["ann@a.test"])).messages.map((m) => m.content)).toEqual([
      "just the two of us",
    ]);
  });
  it("ben's own message to another set or at an old epoch is refused, and one sent twice arrives once", async () => {
    const ben = await client("ben").account();
    const group = (await client("ben").dms()).find((c) => c.label === "@ann@a.test")?.groups[0];
    if (!group) throw new Error("no DM of ann and ben");
    const post = (activity: Record<string, unknown>) =>
      fetch(`${deployment.server("b.test")}/users/ben/outbox`, {
        method: "POST",
        headers: { "content-type": "application/activity+json", authorization: `Bearer ${ben.token}` },
        body: JSON.stringify(activity),
      });
    const cs = await loadCiphersuite();
    // Each message from a state read anew: encrypting moves the ratchet inside the state it is given.
    const stateNow = () => clients.storedChannelState("ben", group.id);
    const staleState = await stateNow();
    const dmMessage = async (
      text: string,
      to = [actor("ann", "a.test"), actor("ben", "b.test")],
      state?: Awaited<ReturnType<typeof stateNow>>,
    ) => {
      const content = createTextContent({ senderUri: "acct:ben@b.test", roomUri: group.url, text });
      const encrypted = await encryptApplicationMessage(
        state ?? (await stateNow()),
        cs,
        encodeContent(content),
      );
      return {
        "@context": "https://www.w3.org/ns/activitystreams",
        id: `${ben.actor}/activities/dm-${crypto.randomUUID()}`,
        type: "Create",
        actor: ben.actor,
        context: group.url,
        to,
        object: toWireObject(encrypted.message),
      };
    };

    // Another set of people is another conversation.
    const widened = await dmMessage("cat should see this", [
      actor("ann", "a.test"),
      actor("ben", "b.test"),
      actor("cat", "b.test"),
    ]);
    attackIds.push(widened.id);
    await expectProblem(await post(widened), 403, "dmRecipientsMismatch");

    // The same activity twice: stored once at ann's.
    const twice = await dmMessage("only once");
    expect((await post(twice)).status).toBe(202);
    expect((await post(twice)).status).toBe(202);
    await syncUntil("ann", "ben's message", async () =>
      (await client("ann").readDm(["ben@b.test"])).messages.some((m) => m.content === "only once"),
    );
    const copies = (await client("ann").inbox({ after: 0, limit: 500 })).filter(
      (item) => item.activityId === twice.id,
    );
    expect(copies).toHaveLength(1);

    // Two key updates later, a message of the first epoch is out of the window.
    for (let round = 0; round < 2; round++) {
      await client("ben").rotateKeys(group.url);
      expect((await client("ben").waitForChannel(group.url, { timeoutMs: 30_000 })).settled).toBe(true);
    }
    await client("ben").dm(["ann@a.test"], "with the newest keys", { timeoutMs: 30_000 });
    const stale = await dmMessage("from two epochs ago", undefined, staleState);
    attackIds.push(stale.id);
    await expectProblem(await post(stale), 409, "dmEpochOutOfWindow");
    await syncUntil("ann", "ben's newest message", async () =>
      (await client("ann").readDm(["ben@b.test"])).messages.some((m) => m.content === "with the newest keys"),
    );
    expect((await client("ann").readDm(["ben@b.test"])).messages.map((m) => m.content)).toEqual([
      "just the two of us",
      "only once",
      "with the newest keys",
    ]);
  });
});
