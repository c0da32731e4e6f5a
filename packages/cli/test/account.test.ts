import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./testing-io.js";

let provider: RunningProvider;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-"));
  provider = await startProvider({
    env: { MIMI_DOMAIN: "localhost", PORT: "0", MIMI_DATA_DIR: join(dir, "data"), LOG_LEVEL: "silent" },
    host: "127.0.0.1",
  });
});
afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("mimi account / whoami", () => {
  it("creates an account, stores its token privately and shows it in whoami", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const env = { MIMI_HOME: join(dir, "home") };
    const io = memoryIo(env);
    expect(await main(["account", "create", "alice", "--server", server], io)).toBe(0);
    expect(io.lines[0]).toMatch(/^created alice@localhost \(http:\/\/localhost:\d+\/users\/alice\)$/);
    // The first device is registered with the account, so others can add alice right away.
    expect(io.lines[1]).toMatch(
      /^registered device "mimi on .+" \(client .+\), credential valid until \d{4}-\d\d-\d\d$/,
    );
    const accountFile = join(dir, "home", "accounts", "alice@localhost", "account.json");
    expect(statSync(accountFile).mode & 0o777).toBe(0o600);

    const who = memoryIo(env);
    expect(await main(["whoami"], who)).toBe(0);
    expect(who.lines[0]).toMatch(/^alice@localhost {2}http:\/\/localhost:\d+\/users\/alice$/);
  });

  it("reports a taken name in one line with the reason", async () => {
    const io = memoryIo({ MIMI_HOME: join(dir, "home2") });
    expect(
      await main(["account", "create", "alice", "--server", `http://127.0.0.1:${provider.port}`], io),
    ).toBe(1);
    expect(io.errors).toEqual(["mimi: the name alice is taken (409 Conflict)"]);
  });

  it("logs in with the password and refuses a wrong one", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const ok = memoryIo({ MIMI_HOME: join(dir, "home3") });
    expect(await main(["account", "login", "alice", "--server", server], ok)).toBe(0);
    const bad = memoryIo({ MIMI_HOME: join(dir, "home4") }, "wrong password");
    expect(await main(["account", "login", "alice", "--server", server], bad)).toBe(1);
    expect(bad.errors[0]).toContain("invalid username or password");
  });

  it("logs out, here and everywhere, and says the session has ended rather than 401", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const phone = { MIMI_HOME: join(dir, "erin-phone") };
    const laptop = { MIMI_HOME: join(dir, "erin-laptop") };
    const tablet = { MIMI_HOME: join(dir, "erin-tablet") };
    expect(await main(["account", "create", "erin", "--server", server], memoryIo(phone))).toBe(0);
    expect(await main(["account", "login", "erin", "--server", server], memoryIo(laptop))).toBe(0);
    expect(await main(["account", "login", "erin", "--server", server], memoryIo(tablet))).toBe(0);

    const sessions = memoryIo(phone);
    expect(await main(["account", "sessions"], sessions)).toBe(0);
    expect(sessions.lines).toHaveLength(3);
    expect(sessions.lines.filter((text) => text.endsWith("(this session)"))).toHaveLength(1);
    expect(sessions.lines[2]).toMatch(/^[0-9a-f]{16} {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}.+$/);

    const out = memoryIo(phone);
    expect(await main(["logout"], out)).toBe(0);
    expect(out.lines).toEqual(["logged out of erin@localhost"]);
    const after = memoryIo(phone);
    expect(await main(["whoami"], after)).toBe(1);
    expect(await main(["keypackages"], after)).toBe(1);
    const ended = `mimi: your session has ended: run mimi account login erin --server ${server}`;
    expect(after.errors).toEqual([ended, ended]);
    // The others are still logged in, until one logs out everywhere.
    expect(await main(["whoami"], memoryIo(laptop))).toBe(0);
    const everywhere = memoryIo(laptop);
    expect(await main(["logout", "--everywhere"], everywhere)).toBe(0);
    expect(everywhere.lines).toEqual(["logged out of erin@localhost everywhere (2 sessions)"]);
    const tabletAfter = memoryIo(tablet);
    expect(await main(["whoami"], tabletAfter)).toBe(1);
    expect(tabletAfter.errors).toEqual([ended]);
    // Logging out once more only forgets the token here.
    const again = memoryIo(tablet);
    expect(await main(["logout"], again)).toBe(0);
    expect(again.lines).toEqual(["the session of erin@localhost had ended already; logged out here"]);

    // Logging in again carries on with the same device.
    const back = memoryIo(phone);
    expect(await main(["account", "login", "erin", "--server", server], back)).toBe(0);
    expect(await main(["whoami"], back)).toBe(0);
    expect(back.lines.at(-1)).toMatch(/^clients: mimi on .+ \(.+\)$/);
  });

  it("logs one listed session out", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const phone = { MIMI_HOME: join(dir, "gina-phone") };
    const laptop = { MIMI_HOME: join(dir, "gina-laptop") };
    expect(await main(["account", "create", "gina", "--server", server], memoryIo(phone))).toBe(0);
    expect(await main(["account", "login", "gina", "--server", server], memoryIo(laptop))).toBe(0);
    const sessions = memoryIo(phone);
    expect(await main(["account", "sessions"], sessions)).toBe(0);
    const other = sessions.lines.find((text) => !text.endsWith("(this session)"))?.slice(0, 16) ?? "";
    const out = memoryIo(phone);
    expect(await main(["logout", "--session", other], out)).toBe(0);
    expect(out.lines).toEqual([`logged out session ${other} of gina@localhost`]);
    expect(await main(["whoami"], memoryIo(laptop))).toBe(1);
    expect(await main(["whoami"], memoryIo(phone))).toBe(0);
  });

  it("changes the password, logging the other sessions out", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const phone = { MIMI_HOME: join(dir, "frank-phone") };
    const laptop = { MIMI_HOME: join(dir, "frank-laptop") };
    expect(await main(["account", "create", "frank", "--server", server], memoryIo(phone))).toBe(0);
    expect(await main(["account", "login", "frank", "--server", server], memoryIo(laptop))).toBe(0);

    const wrong = memoryIo({ ...phone, MIMI_NEW_PASSWORD: "a new long password" }, "not the password");
    expect(await main(["account", "password"], wrong)).toBe(1);
    expect(wrong.errors).toEqual(["mimi: the current password is not right (403 Forbidden)"]);

    const changed = memoryIo({ ...phone, MIMI_NEW_PASSWORD: "a new long password" });
    expect(await main(["account", "password"], changed)).toBe(0);
    expect(changed.lines).toEqual(["changed the password of frank@localhost; 1 other session logged out"]);
    expect(await main(["whoami"], memoryIo(phone))).toBe(0);
    const laptopAfter = memoryIo(laptop);
    expect(await main(["whoami"], laptopAfter)).toBe(1);
    expect(laptopAfter.errors[0]).toMatch(/^mimi: your session has ended: run mimi account login frank/);

    const oldPassword = memoryIo(laptop);
    expect(await main(["account", "login", "frank", "--server", server], oldPassword)).toBe(1);
    expect(oldPassword.errors[0]).toContain("invalid username or password");
    const newPassword = memoryIo(laptop, "a new long password");
    expect(await main(["account", "login", "frank", "--server", server], newPassword)).toBe(0);
  });

  it("explains usage mistakes and missing accounts", async () => {
    const io = memoryIo({ MIMI_HOME: join(dir, "empty") });
    expect(await main(["account", "create"], io)).toBe(2);
    expect(io.errors[0]).toMatch(/^mimi: usage: /);
    expect(await main(["whoami"], io)).toBe(1);
    expect(io.errors[1]).toContain("no account yet");
    expect(await main(["frobnicate"], io)).toBe(2);
    expect(await main(["logout", "now"], io)).toBe(2);
    expect(await main(["logout", "--everywhere", "--session", "0123456789abcdef"], io)).toBe(2);
    expect(await main(["account", "password", "extra"], io)).toBe(2);
    expect(io.errors.slice(-3).every((text) => text.startsWith("mimi: usage: "))).toBe(true);
    expect(await main(["account", "create", "bob", "--server", "http://127.0.0.1:1"], io)).toBe(1);
    expect(io.errors.at(-1)).toMatch(/cannot reach/);
  });
});
