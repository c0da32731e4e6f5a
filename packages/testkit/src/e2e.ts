import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClientEvent, MimiClient, ProviderApi, StateStore } from "@mimi/client";
import { acceptAnyCredential, type ClientState, decodeClientState } from "@mimi/mls";

/** Where the clients of an end-to-end test live: each domain's server, their homes, the host mapping. */
export interface ClientPlace {
  /** The URL a client of `domain` uses for its home server. */
  server(domain: string): string;
  /** A folder for the MIMI_HOME named `name`. */
  home(name: string): string;
  /**
   * `host=ip:port,...`: where clients connect for each domain, their home server included (a server
   * URL naming the domain, as behind an ingress that routes by host, is reached through it).
   */
  connectTo: string;
}

/**
 * The clients of an end-to-end test by user name. `place` is read when a user signs up, so it may
 * name a deployment the test opens later (in `beforeAll`).
 */
export class TestClients extends Map<string, MimiClient> {
  /** `user@domain` of each user who signed up. */
  private readonly handles = new Map<string, string>();

  constructor(
    private readonly place: () => ClientPlace,
    /** Put before `user@domain` in home folder names, for suites sharing a deployment's homes. */
    private readonly homePrefix = "",
  ) {
    super();
  }

  /** The password `signUp` gives `user`. */
  static password(user: string): string {
    return `${user}'s password`;
  }

  /**
   * Creates `user` at `domain` through the client API, saves the account as `mimi account create`
   * does, and adds a device whose KeyPackages are uploaded; fails when they are not. The client is
   * known here as `as.name` (its MIMI_HOME too) and its device is called `as.device`.
   */
  async signUp(
    user: string,
    domain: string,
    as: { name: string; device: string } = { name: user, device: `${user}'s laptop` },
  ): Promise<MimiClient> {
    const api = new ProviderApi({ server: this.place().server(domain), connectTo: this.place().connectTo });
    const created = await api.createAccount(user, TestClients.password(user));
    const client = await this.saveLogin(as.name, user, domain, created.token);
    await this.registerDevice(as.name, user, domain, as.device);
    return client;
  }

  /**
   * `user` (who signed up) logs in from a fresh MIMI_HOME known here as `name`: another device, not
   * registered yet.
   */
  async logIn(name: string, user: string, domain: string): Promise<MimiClient> {
    return this.saveLogin(name, user, domain, await this.token(user, domain));
  }

  /** `logIn`, then registers the device as `name` with its KeyPackages uploaded. */
  async addDevice(name: string, user: string, domain: string): Promise<MimiClient> {
    const client = await this.logIn(name, user, domain);
    await this.registerDevice(name, user, domain, name);
    return client;
  }

  /** A new bearer token of `user` at `domain`, logging in with the password `signUp` gave. */
  async token(user: string, domain: string): Promise<string> {
    const api = new ProviderApi({ server: this.place().server(domain), connectTo: this.place().connectTo });
    return (await api.createToken(user, TestClients.password(user))).token;
  }

  /** The folder of the account that the client `name` is logged in to (its channels, its keys). */
  accountHome(name: string): string {
    const handle = this.handles.get(name);
    if (!handle) throw new Error(`no client ${name}`);
    return join(this.client(name).options.home, "accounts", handle);
  }

  private async saveLogin(name: string, user: string, domain: string, token: string): Promise<MimiClient> {
    const place = this.place();
    const home = place.home(`${this.homePrefix}${name}@${domain}`);
    const api = new ProviderApi({ server: place.server(domain), connectTo: place.connectTo });
    const me = await api.withToken(token).me();
    await new StateStore(home).saveAccount({
      server: api.server,
      username: me.username,
      acct: me.acct,
      actor: me.actor,
      token,
    });
    const client = new MimiClient({ home, connectTo: place.connectTo });
    this.set(name, client);
    this.handles.set(name, `${user}@${domain}`);
    return client;
  }

  private async registerDevice(name: string, user: string, domain: string, device: string): Promise<void> {
    const added = await this.client(name).addDevice(device);
    if (!added.keyPackages.ok)
      throw new Error(`${user}@${domain}: KeyPackages not uploaded: ${JSON.stringify(added.keyPackages)}`);
  }

  /**
   * The MLS state `user`'s client saved for a channel, decoded as a tampered client would use it (to
   * sign what the real client never would).
   */
  async storedChannelState(user: string, channelId: string): Promise<ClientState> {
    const file = join(this.accountHome(user), "channels", `${channelId}.json`);
    const record = JSON.parse(await readFile(file, "utf8")) as { state: string };
    const decoded = decodeClientState(
      new Uint8Array(Buffer.from(record.state, "base64")),
      acceptAnyCredential,
    );
    if (!decoded.ok) throw new Error(decoded.detail);
    return decoded.state;
  }

  /** The client of `user`, who must have signed up. */
  client(user: string): MimiClient {
    const found = this.get(user);
    if (!found) throw new Error(`no client ${user}`);
    return found;
  }

  /** Another run of `user`'s client on the same MIMI_HOME (a new `mimi` process). */
  async restart(user: string): Promise<MimiClient> {
    const old = this.client(user);
    await old.close();
    const fresh = new MimiClient({ home: old.options.home, connectTo: this.place().connectTo });
    this.set(user, fresh);
    return fresh;
  }

  /** Syncs `user` until `done` holds (deliveries cross providers asynchronously); returns every event. */
  async syncUntil(
    user: string,
    what: string,
    done: () => Promise<boolean>,
    timeoutMs = 30_000,
  ): Promise<ClientEvent[]> {
    const deadline = Date.now() + timeoutMs;
    const events: ClientEvent[] = [];
    for (;;) {
      events.push(...(await this.client(user).sync()).events);
      if (await done()) return events;
      if (Date.now() > deadline) throw new Error(`${user}: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The texts of the messages `name`'s client holds for the channel `url`. */
  async texts(name: string, url: string): Promise<string[]> {
    return (await this.client(name).messages(url)).messages.map((m) => m.content);
  }

  /** The epoch of the channel `url` as `name`'s client is at it. */
  async epochOf(name: string, url: string): Promise<number> {
    return (await this.client(name).channel(url)).epoch;
  }

  /** `name` sends `text` to the channel `url`, and every one of `readers` reads it. */
  async sendAndRead(name: string, url: string, text: string, readers: string[]): Promise<void> {
    await this.client(name).send(url, text);
    for (const reader of readers)
      await this.syncUntil(reader, `"${text}"`, async () => (await this.texts(reader, url)).includes(text));
  }

  /** Closes every client. */
  async closeAll(): Promise<void> {
    for (const client of this.values()) await client.close();
  }
}
