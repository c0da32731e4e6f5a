import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Client state lives under MIMI_HOME (default ~/.mimi), one folder per account
 * (`accounts/<user>@<domain>/`), written atomically with owner-only permissions
 * because it holds bearer tokens and, later, MLS secrets.
 */
export interface StoredAccount {
  server: string;
  username: string;
  acct: string;
  actor: string;
  token: string;
}

export function mimiHome(env: Record<string, string | undefined> = process.env): string {
  return env.MIMI_HOME || join(homedir(), ".mimi");
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export class StateStore {
  constructor(readonly home: string) {}

  accountDir(handle: string): string {
    return join(this.home, "accounts", handle);
  }

  async saveAccount(account: StoredAccount): Promise<string> {
    const handle = account.acct.replace(/^acct:/, "");
    await writeJsonAtomic(join(this.accountDir(handle), "account.json"), account);
    await writeJsonAtomic(join(this.home, "current.json"), { account: handle });
    return handle;
  }

  async loadAccount(handle: string): Promise<StoredAccount | undefined> {
    return readJson<StoredAccount>(join(this.accountDir(handle), "account.json"));
  }

  async currentHandle(): Promise<string | undefined> {
    return (await readJson<{ account: string }>(join(this.home, "current.json")))?.account;
  }

  async useAccount(handle: string): Promise<void> {
    if (!(await this.loadAccount(handle))) throw new Error(`no account ${handle} under ${this.home}`);
    await writeJsonAtomic(join(this.home, "current.json"), { account: handle });
  }

  /**
   * Drops the account's token after logging out (the account, its device and channels stay, for the
   * next login). A command that needs the token then gets the server's 401.
   */
  async forgetToken(handle: string): Promise<void> {
    const account = await this.loadAccount(handle);
    if (!account) return;
    await writeJsonAtomic(join(this.accountDir(handle), "account.json"), { ...account, token: "" });
  }

  /** The account named by `handle`, or the current one. */
  async resolveAccount(handle?: string): Promise<StoredAccount> {
    const chosen = handle ?? (await this.currentHandle());
    if (!chosen) throw new Error("no account yet: run `mimi account create <user> --server <url>` first");
    const account = await this.loadAccount(chosen);
    if (!account) throw new Error(`no account ${chosen} under ${this.home}`);
    return account;
  }
}
