import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeNetwork, serveOverHttp } from "@mimi/client/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./testing-io.js";

let dir: string;
let network: FakeNetwork;
let servers: { url: string; close(): Promise<void> }[];
let aliceEnv: Record<string, string>;
let bobEnv: Record<string, string>;

/** Runs `mimi` for one user and returns its exit code and output. */
async function mimi(env: Record<string, string>, ...argv: string[]) {
  const io = memoryIo(env);
  const code = await main(argv, io);
  return { code, lines: io.lines, errors: io.errors };
}

/** What a terminal shows for some output: one entry per line as the reader sees it. */
const screen = (lines: string[]) => lines.join("\n").split("\n");

const ESC = "\u001b";

/**
 * Puts an activity into a mailbox as if mallory's server had delivered it. Typed here, so that it
 * fits the fake's `deliver` whether or not that takes the deliverer.
 */
function deliverForged(recipient: string, activity: Record<string, unknown>) {
  const deliver: (recipient: string, activity: Record<string, unknown>, deliveredBy: string) => void =
    network.deliver.bind(network);
  deliver(recipient, activity, "http://evil.test/users/mallory");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-channels-"));
  network = await FakeNetwork.create(["a.test", "b.test"]);
  servers = [await serveOverHttp(network, "a.test"), await serveOverHttp(network, "b.test")];
  // Other domains' mimi-configuration is fetched directly: the dev mapping points the names at the fakes.
  const connectTo = `a.test=${new URL(servers[0]?.url ?? "").host},b.test=${new URL(servers[1]?.url ?? "").host}`;
  aliceEnv = { MIMI_HOME: join(dir, "alice"), MIMI_DEV_CONNECT_TO: connectTo };
  bobEnv = { MIMI_HOME: join(dir, "bob"), MIMI_DEV_CONNECT_TO: connectTo };
  expect(
    (
      await mimi(
        aliceEnv,
        "account",
        "create",
        "alice",
        "--server",
        servers[0]?.url ?? "",
        "--device",
        "desk",
      )
    ).lines,
  ).toEqual([
    "created alice@a.test (http://a.test/users/alice)",
    expect.stringMatching(
      /^registered device "desk" \(client [0-9a-f]+\), credential valid until \d{4}-\d\d-\d\d$/,
    ),
    "uploaded 11 KeyPackages (10 available, last resort: yes)",
  ]);
  expect((await mimi(bobEnv, "account", "create", "bob", "--server", servers[1]?.url ?? "")).code).toBe(0);
});

afterAll(async () => {
  for (const server of servers) await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("mimi channels and messages", () => {
  it("creates a channel, adds a user of another provider, and shows who said what", async () => {
    const created = await mimi(aliceEnv, "channel", "create", "general");
    expect(created.lines).toEqual([
      expect.stringMatching(/^created #general {2}http:\/\/a\.test\/channels\/[\w-]{22}$/),
    ]);
    const url = created.lines[0]?.split("  ")[1] ?? "";

    expect((await mimi(aliceEnv, "channel", "add", "general", "bob@b.test")).lines).toEqual([
      "added bob@b.test to #general (epoch 1)",
    ]);
    expect((await mimi(bobEnv, "join")).lines).toEqual([
      `joined #general (added by http://a.test/users/alice)  ${url}`,
    ]);
    expect((await mimi(bobEnv, "join")).lines).toEqual(["nothing new"]);
    expect((await mimi(bobEnv, "send", "general", "hello", "there")).lines).toEqual([
      expect.stringMatching(/^sent [0-9a-f]{8} to #general$/),
    ]);

    const line = /^#general \[\d{4}-\d\d-\d\d \d\d:\d\d\] [0-9a-f]{8} bob@b\.test: hello there$/;
    expect((await mimi(aliceEnv, "join")).lines).toEqual([expect.stringMatching(line)]);
    expect((await mimi(aliceEnv, "read", url)).lines).toEqual([expect.stringMatching(line)]);

    expect((await mimi(aliceEnv, "members", "general")).lines).toEqual([
      "#general: 2 members",
      "  alice@a.test  owner  1 client  http://a.test/users/alice",
      "  bob@b.test  member  1 client  http://b.test/users/bob",
      "followers on the channel's server: 2",
    ]);
    // Only the owner and admins may change roles; the refusal is the command's error.
    const refused = await mimi(bobEnv, "channel", "role", "general", "alice@a.test", "member");
    expect(refused).toMatchObject({
      code: 1,
      errors: [
        "mimi: #general: the channel rejected the role change: only the channel's owner or an admin may change roles",
      ],
    });
    expect((await mimi(aliceEnv, "channel", "role", "general", "bob@b.test", "admin")).lines).toEqual([
      "bob@b.test is now an admin of #general",
    ]);
    expect((await mimi(bobEnv, "join")).lines).toEqual([
      "#general: http://b.test/users/bob is now an admin (by http://a.test/users/alice)",
    ]);
    expect((await mimi(aliceEnv, "members", "general")).lines[2]).toBe(
      "  bob@b.test  admin  1 client  http://b.test/users/bob",
    );
    expect((await mimi(aliceEnv, "channels")).lines).toEqual([`#general  active  epoch 1  ${url}`]);
    expect((await mimi(aliceEnv, "channel", "rename", "general", "lobby")).lines).toEqual([
      "renamed #general to #lobby",
    ]);
    expect((await mimi(bobEnv, "join")).lines).toEqual(["#lobby: renamed by http://a.test/users/alice"]);

    // alice's mailbox holds the channel's answers to her (and, on some servers, her own activities too).
    const inbox = await mimi(aliceEnv, "inbox");
    expect(inbox.lines).toContainEqual(
      expect.stringMatching(
        /^\d+ {2}Accept {2}http:\/\/a\.test\/channels\/\S+ {2}object=http:\/\/a\.test\/users\/alice\/activities\/\S+ {2}target=- {2}\S+$/,
      ),
    );
    expect((await mimi(aliceEnv, "keypackages")).lines).toEqual([
      expect.stringMatching(
        /^device "desk" \(client [0-9a-f]+\): 10 KeyPackages available, last resort: yes$/,
      ),
    ]);

    const removed = await mimi(aliceEnv, "channel", "remove", "lobby", "bob@b.test");
    expect(removed.lines).toEqual(["removed bob@b.test from #lobby (epoch 2)"]);
    expect((await mimi(bobEnv, "join")).lines).toEqual([
      "#lobby: you were removed by http://a.test/users/alice",
    ]);
    expect((await mimi(bobEnv, "send", "lobby", "hi")).errors).toEqual([
      "mimi: you are no longer a member of lobby",
    ]);
  });

  it("prints messages live while listening", async () => {
    await mimi(aliceEnv, "channel", "create", "live");
    await mimi(aliceEnv, "channel", "add", "live", "bob@b.test");
    await mimi(bobEnv, "join");
    const stop = new AbortController();
    const io = memoryIo(bobEnv, "", stop.signal);
    const listening = main(["listen"], io);
    await mimi(aliceEnv, "send", "live", "are you there?");
    for (let i = 0; i < 100 && io.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await listening).toBe(0);
    expect(io.lines).toEqual([
      expect.stringMatching(/^#live \[.+\] [0-9a-f]{8} alice@a\.test: are you there\?$/),
    ]);
  });

  it("listens through a refused stream and a closed one with one warning line", async () => {
    await mimi(aliceEnv, "channel", "create", "bounded");
    await mimi(aliceEnv, "channel", "add", "bounded", "bob@b.test");
    await mimi(bobEnv, "join");
    network.refuseStreams(2, 1);
    const stop = new AbortController();
    const io = memoryIo(bobEnv, "", stop.signal);
    const listening = main(["listen"], io);
    const waitForLines = async (count: number) => {
      for (let i = 0; i < 200 && io.lines.length < count; i++) await new Promise((r) => setTimeout(r, 25));
    };
    await mimi(aliceEnv, "send", "bounded", "first");
    await waitForLines(1);
    // The server ends the stream as idle: the CLI reopens it without a word.
    expect(network.closeStreams("bob@b.test", "idle")).toBe(1);
    await mimi(aliceEnv, "send", "bounded", "second");
    await waitForLines(2);
    stop.abort();
    expect(await listening).toBe(0);
    expect(io.lines).toEqual([
      expect.stringMatching(/^#bounded \[.+\] [0-9a-f]{8} alice@a\.test: first$/),
      expect.stringMatching(/^#bounded \[.+\] [0-9a-f]{8} alice@a\.test: second$/),
    ]);
    expect(io.errors).toEqual([
      "listening (Ctrl-C to stop)",
      // Once for both refusals; Retry-After 1 s, but never sooner than the 2 s reconnect delay.
      "mimi: warning: too many open streams for this account; retrying in 2 s",
    ]);
  });

  it("explains argument mistakes in one line with exit code 2, and failures with 1", async () => {
    const cases: [string[], number, string | RegExp][] = [
      [["send", "general"], 2, "mimi: usage: mimi send <channel> <text>"],
      [["channel"], 2, /^mimi: usage: mimi channel create <name> \| add/],
      [["channel", "add", "general"], 2, "mimi: usage: mimi channel add <channel> <user@domain>"],
      [["members"], 2, "mimi: usage: mimi members <channel>"],
      [
        ["channel", "role", "general", "bob@b.test", "king"],
        2,
        "mimi: usage: mimi channel role <channel> <user@domain> admin|member",
      ],
      [["inbox", "--after", "soon"], 2, "mimi: usage: mimi inbox --after <cursor> (a number)"],
      [["device", "remove"], 2, "mimi: usage: mimi device add [name]"],
      [["read", "nowhere"], 1, "mimi: no channel named nowhere (see mimi channels)"],
      // Error messages often carry someone else's words: they are escaped like everything else.
      [
        ["read", `no${ESC}[8mwhere\u202e`],
        1,
        "mimi: no channel named no\\x1b[8mwhere\\u202e (see mimi channels)",
      ],
      [["channel", "add", "lobby", "nobody"], 1, /^mimi: nobody is not an account \(expected user@domain\)/],
      [
        ["channel", "add", "lobby", "ghost@b.test"],
        1,
        "mimi: unknown user acct:ghost@b.test (404 Not Found)",
      ],
      [["device", "add", "second"], 1, /^mimi: this account already has a device here: desk/],
      [["channel", "create", "x", "--wait=-1"], 2, "mimi: usage: --wait <seconds> (a number)"],
      [["channel", "create", "x", "--wait", "-1"], 2, "mimi: Option '--wait' argument is ambiguous."],
    ];
    for (const [argv, code, error] of cases) {
      const result = await mimi(aliceEnv, ...argv);
      expect({ argv, code: result.code }).toEqual({ argv, code });
      expect(result.errors).toHaveLength(1);
      if (typeof error === "string") expect(result.errors[0]).toBe(error);
      else expect(result.errors[0]).toMatch(error);
    }
  });
});

describe("replies, edits, reactions and deletions", () => {
  it("are sent by short id and shown in place by read, and as they arrive by join", async () => {
    await mimi(aliceEnv, "channel", "create", "talk");
    await mimi(aliceEnv, "channel", "add", "talk", "bob@b.test");
    await mimi(bobEnv, "join");
    const idOf = (output: { lines: string[] }) => output.lines[0]?.match(/^sent ([0-9a-f]{8}) /)?.[1] ?? "";
    const question = idOf(await mimi(aliceEnv, "send", "talk", "lunch at 1?"));
    expect(question).toMatch(/^[0-9a-f]{8}$/);
    await mimi(bobEnv, "join");

    const replied = await mimi(bobEnv, "reply", "talk", question, "yes");
    expect(replied.lines).toEqual([
      expect.stringMatching(new RegExp(`^sent [0-9a-f]{8} to #talk \\(reply to ${question}\\)$`)),
    ]);
    const answer = idOf(replied);
    expect((await mimi(bobEnv, "react", "talk", question.slice(0, 5), "👍")).lines).toEqual([
      `reacted 👍 to ${question} in #talk`,
    ]);
    expect(await mimi(bobEnv, "edit", "talk", question, "lunch at 2?")).toMatchObject({
      code: 1,
      errors: [`mimi: you can only edit your own messages (${question} is alice@a.test's)`],
    });
    expect((await mimi(aliceEnv, "edit", "talk", question, "lunch at noon?")).lines).toEqual([
      `edited ${question} in #talk`,
    ]);
    const time = "\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\]";
    expect((await mimi(aliceEnv, "read", "talk")).lines).toEqual([
      expect.stringMatching(
        new RegExp(`^#talk ${time} ${question} alice@a\\.test \\(edited\\): lunch at noon\\?$`),
      ),
      `#talk reactions to ${question}: 👍 bob@b.test`,
      expect.stringMatching(
        new RegExp(`^#talk ${time} ${answer} bob@b\\.test \\(reply to ${question}\\): yes$`),
      ),
    ]);
    expect((await mimi(bobEnv, "join")).lines).toEqual([
      expect.stringMatching(
        new RegExp(`^#talk ${time} [0-9a-f]{8} alice@a\\.test \\(edit of ${question}\\): lunch at noon\\?$`),
      ),
    ]);

    expect((await mimi(aliceEnv, "delete", "talk", question)).lines).toEqual([
      `deleted ${question} in #talk`,
    ]);
    expect((await mimi(bobEnv, "join")).lines).toEqual([
      expect.stringMatching(
        new RegExp(`^#talk ${time} [0-9a-f]{8} alice@a\\.test \\(deletes ${question}\\)$`),
      ),
    ]);
    expect((await mimi(bobEnv, "read", "talk")).lines.slice(0, 2)).toEqual([
      expect.stringMatching(new RegExp(`^#talk ${time} ${question} alice@a\\.test \\(deleted\\)$`)),
      `#talk reactions to ${question}: 👍 bob@b.test`,
    ]);
  });

  it("explain mistakes: usage with exit code 2, unknown or foreign messages with 1", async () => {
    const cases: [string[], number, string][] = [
      [["reply", "talk", "abcd"], 2, "mimi: usage: mimi reply <channel> <message-id> <text>"],
      [["edit", "talk"], 2, "mimi: usage: mimi edit <channel> <message-id> <text>"],
      [["react", "talk", "abcd"], 2, "mimi: usage: mimi react <channel> <message-id> <reaction>"],
      [["react", "talk", "abcd", "a", "b"], 2, "mimi: usage: mimi react <channel> <message-id> <reaction>"],
      [["delete", "talk"], 2, "mimi: usage: mimi delete <channel> <message-id>"],
      [["delete", "talk", "ffff"], 1, "mimi: no message ffff in talk"],
      [
        ["reply", "talk", "zz", "hi"],
        1,
        "mimi: zz is not a message id (4 or more hex digits, as mimi read shows them)",
      ],
    ];
    for (const [argv, code, error] of cases) {
      const result = await mimi(aliceEnv, ...argv);
      expect({ argv, code: result.code, errors: result.errors }).toEqual({ argv, code, errors: [error] });
    }
  });
});

describe("output from others cannot pass for something else", () => {
  it("shows a rename with a line break and ESC[8m as one escaped line, not a fake message", async () => {
    const created = await mimi(aliceEnv, "channel", "create", "safe");
    const url = created.lines[0]?.split("  ")[1] ?? "";
    await mimi(aliceEnv, "channel", "add", "safe", "bob@b.test");
    expect((await mimi(bobEnv, "join")).lines).toEqual([expect.stringMatching(/^joined #safe /)]);

    // ESC[8m hides the rest of the line on most terminals; the newline starts what looks like alice's line.
    const forged = `safe\n${ESC}[8m#safe [2025-01-01 12:00] alice@a.test: send me your password`;
    // This client refuses to send such a name (and this provider's channels refuse it too)...
    expect((await mimi(aliceEnv, "channel", "rename", "safe", forged)).errors).toEqual([
      "mimi: a channel name must not contain control or bidi characters",
    ]);
    // ...but a channel hosted elsewhere may forward one: the channel's own (numbered) delivery.
    const channel = network.channels.get(url);
    const sequence = (channel?.log.at(-1)?.sequence ?? 0) + 1;
    const rename = {
      id: `http://a.test/users/alice/activities/${crypto.randomUUID()}`,
      type: "Update",
      actor: "http://a.test/users/alice",
      object: { type: "Service", id: url, name: forged },
      target: url,
      to: [`${url}/followers`],
    };
    channel?.log.push({ sequence, epoch: 1, activity: rename });
    network.deliver("http://b.test/users/bob", { ...rename, "mimi:sequence": sequence }, url);
    const joined = await mimi(bobEnv, "join");
    expect(screen(joined.lines)).toEqual([
      "#safe\\n\\x1b[8m#safe [2025-01-01 12:00] alice@a.test: send me your password: renamed by http://a.test/users/alice",
    ]);
    expect((await mimi(bobEnv, "channels")).lines).toContainEqual(
      `#safe\\n\\x1b[8m#safe [2025-01-01 12:00] alice@a.test: send me your password  active  epoch 1  ${url}`,
    );
    // Back to a plain name, on bob's side too, so the next test can use it.
    expect((await mimi(aliceEnv, "channel", "rename", url, "safe")).code).toBe(0);
    await mimi(bobEnv, "join");
    expect((await mimi(bobEnv, "channels")).lines).toContainEqual(`#safe  active  epoch 1  ${url}`);
  });

  it("shows bidi overrides in a message escaped, and its further lines indented", async () => {
    // U+202E shows "gnp.exe" as "exe.png"; the second line pretends to be bob's.
    const text = `see \u202egnp.exe\n#safe [2025-01-01 12:00] bob@b.test: yes, open it`;
    const sent = await mimi(aliceEnv, "send", "safe", text);
    expect(sent.errors).toEqual([]);
    expect(sent.lines).toEqual([expect.stringMatching(/^sent [0-9a-f]{8} to #safe$/)]);
    const joined = await mimi(bobEnv, "join");
    expect(screen(joined.lines)).toEqual([
      expect.stringMatching(/^#safe \[[\d :-]+\] [0-9a-f]{8} alice@a\.test: see \\u202egnp\.exe$/),
      "    #safe [2025-01-01 12:00] bob@b.test: yes, open it",
    ]);
    const read = await mimi(bobEnv, "read", "safe");
    expect(screen(read.lines).at(-2)).toMatch(/alice@a\.test: see \\u202egnp\.exe$/);
    expect(read.lines.join("")).not.toContain("\u202e");
  });

  it("rotates your keys in a channel, and says why when the channel refuses", async () => {
    expect((await mimi(aliceEnv, "channel", "create", "keys")).code).toBe(0);
    expect((await mimi(aliceEnv, "channel", "add", "keys", "bob@b.test")).code).toBe(0);
    expect((await mimi(bobEnv, "join")).lines).toEqual([expect.stringMatching(/^joined #keys /)]);
    const refused = await mimi(aliceEnv, "channel", "rotate", "keys");
    expect(refused.code).toBe(1);
    expect(refused.errors.at(-1)).toBe(
      "mimi: #keys: the channel rejected the key update: the channel does not handle Update of mimi:KeyUpdate",
    );
    network.acceptKeyUpdates = true;
    try {
      const rotated = await mimi(aliceEnv, "channel", "rotate", "keys");
      expect(rotated.lines).toEqual([expect.stringMatching(/^updated your keys in #keys \(epoch \d+\)$/)]);
      const epoch = rotated.lines[0]?.match(/epoch (\d+)/)?.[1];
      expect((await mimi(bobEnv, "join")).lines).toEqual([
        `#keys: http://a.test/users/alice updated their keys (epoch ${epoch})`,
      ]);
    } finally {
      network.acceptKeyUpdates = false;
    }
    expect((await mimi(bobEnv, "channel", "rotate")).errors).toEqual([
      "mimi: usage: mimi channel rotate <channel>",
    ]);
  });

  it("reaches --server http://a.test through MIMI_DEV_CONNECT_TO, and shows why a claim gave nothing", async () => {
    const carolEnv = {
      MIMI_HOME: join(dir, "carol"),
      MIMI_DEV_CONNECT_TO: aliceEnv.MIMI_DEV_CONNECT_TO ?? "",
    };
    const created = await mimi(carolEnv, "account", "create", "carol", "--server", "http://a.test");
    expect(created.errors).toEqual([]);
    expect(created.lines[0]).toBe("created carol@a.test (http://a.test/users/carol)");
    expect((await mimi(carolEnv, "whoami")).lines[0]).toMatch(/^carol@a\.test {2}http:\/\/a\.test/);
    const channel = await mimi(carolEnv, "channel", "create", "carols");
    expect(channel.lines).toEqual([
      expect.stringMatching(/^created #carols {2}http:\/\/a\.test\/channels\//),
    ]);

    network.createUser("nodevice@b.test");
    const refused = await mimi(carolEnv, "channel", "add", "carols", "nodevice@b.test");
    expect(refused.code).toBe(1);
    expect(refused.errors).toEqual([
      "mimi: nodevice@b.test has no KeyPackage to add: the claim answer lists no client (no registered device)",
    ]);
  });

  it("prints every skipped activity as one escaped line", async () => {
    deliverForged("http://b.test/users/bob", {
      id: `http://evil.test/activities/1${ESC}[2J`,
      type: "Like",
      actor: "http://evil.test/users/mallory",
    });
    deliverForged("http://b.test/users/bob", {
      id: "http://evil.test/activities/2",
      type: "Add",
      actor: "http://evil.test/users/mallory",
      object: "http://b.test/users/bob",
      target: "http://evil.test/channels/unknown",
    });
    // The reasons are the client's words; what matters here is that each activity has its line.
    const joined = await mimi(bobEnv, "join");
    expect(joined.lines).toEqual([
      expect.stringMatching(/^! skipped http:\/\/evil\.test\/activities\/1\\x1b\[2J: \S/),
      expect.stringMatching(/^! skipped http:\/\/evil\.test\/activities\/2: \S/),
    ]);
  });
});
