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
  /** `host=ip:port,...` for clients checking other domains' credentials. */
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

  /**
   * Creates `user` at `domain` through the client API, saves the account as `mimi account create`
   * does, and adds a device whose KeyPackages are uploaded; fails when they are not.
   */
  async signUp(user: string, domain: string): Promise<MimiClient> {
    const place = this.place();
    const home = place.home(`${this.homePrefix}${user}@${domain}`);
    const api = new ProviderApi({ server: place.server(domain) });
    const created = await api.createAccount(user, `${user}'s password`);
    const me = await api.withToken(created.token).me();
    await new StateStore(home).saveAccount({
      server: api.server,
      username: me.username,
      acct: me.acct,
      actor: me.actor,
      token: created.token,
    });
    const client = new MimiClient({ home, connectTo: place.connectTo });
    const device = await client.addDevice(`${user}'s laptop`);
    if (!device.keyPackages.ok)
      throw new Error(`${user}@${domain}: KeyPackages not uploaded: ${JSON.stringify(device.keyPackages)}`);
    this.set(user, client);
    this.handles.set(user, `${user}@${domain}`);
    return client;
  }

  /**
   * The MLS state `user`'s client saved for a channel, decoded as a tampered client would use it (to
   * sign what the real client never would).
   */
  async storedChannelState(user: string, channelId: string): Promise<ClientState> {
    const handle = this.handles.get(user);
    if (!handle) throw new Error(`no client ${user}`);
    const file = join(this.client(user).options.home, "accounts", handle, "channels", `${channelId}.json`);
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

  /** Closes every client. */
  async closeAll(): Promise<void> {
    for (const client of this.values()) await client.close();
  }
}
