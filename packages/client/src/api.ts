import { fetchWithConnectTo } from "./connect-to-fetch.js";

/**
 * The client's view of its home provider's API. `mimi` never talks to other providers directly:
 * everything goes through the home server, which federates on the user's behalf. (The one exception,
 * fetching another domain's `/.well-known/mimi-configuration` to check credentials, lives in
 * `credential-validation.ts`.)
 */
export class MimiApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly body: Record<string, unknown> = {},
    /** The server's `Retry-After`, in milliseconds, when it sent one (in seconds). */
    readonly retryAfterMs?: number,
  ) {
    super(detail ? `${detail} (${status} ${title})` : `${status} ${title}`);
    this.name = "MimiApiError";
  }
}

export interface AccountInfo {
  username: string;
  acct: string;
  actor: string;
  clients: { id: string; name: string; createdAt: string }[];
}

export interface ProviderApiOptions {
  server: string;
  token?: string;
  fetch?: typeof fetch;
  /**
   * How an outbox POST or a read is retried when the home server cannot answer for now (unreachable,
   * 502, 503, 504): waits before each further attempt (default 0.5, 1, 2, 4, 8 and 15 s; a
   * `Retry-After` of up to 10 s is honoured instead). Safe: the server takes an activity id once,
   * and a read changes nothing.
   */
  submitRetryDelaysMs?: readonly number[];
  /**
   * MIMI_DEV_CONNECT_TO (`a.test=127.0.0.1:8081,...`, or parsed): in development, a server URL such
   * as `http://a.test` connects to the mapped address, its URL and `Host` kept.
   */
  connectTo?: string | ReadonlyMap<string, string>;
}

/**
 * The home server refused the account's token (401): the session expired or was logged out (here, on
 * another device, or by a password change). Only logging in again helps.
 */
export function isSessionEnded(error: unknown): error is MimiApiError {
  return error instanceof MimiApiError && error.status === 401;
}

/** One session (token) of the account, as identity lists it; `id` is not the token. */
export interface SessionInfo {
  id: string;
  label: string;
  createdAt: string;
  /** The session of the token that asked. */
  current: boolean;
}

/** A failure that may pass: the server was unreachable or said so (502, 503, 504). */
function isTransient(error: unknown): error is MimiApiError {
  return error instanceof MimiApiError && (error.status === 0 || [502, 503, 504].includes(error.status));
}

/** About half a minute in all: longer than a service's restart, short enough for someone waiting. */
const DEFAULT_SUBMIT_RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000, 15_000];
const MAX_RETRY_AFTER_MS = 10_000;

/** One activity in the user's mailbox, as delivery-fanout serves it. */
export interface MailboxItem {
  cursor: number;
  activityId: string;
  activity: Record<string, unknown>;
  /** The actor (or channel) whose signature delivered it, as the home server verified. */
  deliveredBy?: string;
  receivedAt: string;
}

export interface MailboxPage {
  items: MailboxItem[];
  next: number;
}

export interface ChannelLogItem {
  sequence: number;
  epoch: number;
  activity: Record<string, unknown>;
}

export interface ChannelLogPage {
  items: ChannelLogItem[];
  next: number | null;
}

export interface KeyPackageCount {
  clientId: string;
  available: number;
  hasLastResort: boolean;
  /** Ids of the unclaimed single-use KeyPackages, oldest first. */
  keyPackageIds?: string[];
}

/** One KeyPackage of a claim answer (docs/protocol.md, "KeyPackages"). */
export interface ClaimedKeyPackageObject {
  type?: string;
  mediaType?: string;
  encoding?: string;
  content?: string;
  ciphersuite?: string | number;
  "mimi:client"?: string;
  "mimi:lastResort"?: boolean;
  attributedTo?: string;
}

export interface KeyPackageClaimCollection {
  type?: string;
  /** The claimed user's actor URL (needed as `Add.object`). */
  actor?: string;
  "mimi:actor"?: string;
  attributedTo?: string;
  items?: ClaimedKeyPackageObject[];
  orderedItems?: ClaimedKeyPackageObject[];
  /** Clients without an item, and why (`noKeyPackages`, `rejectedFromRemote`, ...; docs/protocol.md 5.3). */
  "mimi:unavailable"?: { "mimi:client"?: string; "mimi:reason"?: string; summary?: string }[];
}

export const ACTIVITY_JSON_CONTENT_TYPE = "application/activity+json";

export class ProviderApi {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly fetcher: typeof fetch;
  private readonly submitRetryDelaysMs: readonly number[];

  constructor(options: ProviderApiOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.token = options.token;
    this.fetcher = fetchWithConnectTo(options.fetch ?? fetch, options.connectTo);
    this.submitRetryDelaysMs = options.submitRetryDelaysMs ?? DEFAULT_SUBMIT_RETRY_DELAYS_MS;
  }

  withToken(token: string): ProviderApi {
    return new ProviderApi({
      server: this.server,
      token,
      fetch: this.fetcher,
      submitRetryDelaysMs: this.submitRetryDelaysMs,
    });
  }

  /** Raw request with the bearer token; the caller reads the body (used for the event stream). */
  async open(path: string, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}) {
    try {
      return await this.fetcher(`${this.server}${path}`, {
        method: "GET",
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...init.headers,
        },
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw unreachable(this.server, error);
    }
  }

  /**
   * One call to the home server. Reads (GET) and outbox submissions are repeated while the server
   * cannot answer for now (see `submitRetryDelaysMs`): both are safe to repeat.
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    if (method !== "GET") return this.requestOnce<T>(method, path, body, headers);
    return this.withRetries(() => this.requestOnce<T>(method, path, body, headers));
  }

  /** Runs `call` again on a transient failure, after each of the retry delays (or `Retry-After`). */
  private async withRetries<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        const delay = this.submitRetryDelaysMs[attempt];
        if (!isTransient(error) || delay === undefined) throw error;
        const wait =
          error.retryAfterMs === undefined ? delay : Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private async requestOnce<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await this.fetcher(`${this.server}${path}`, {
        method,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw unreachable(this.server, error);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const problem = (parsed ?? {}) as Record<string, unknown>;
      const retryAfterSeconds = Number(response.headers.get("retry-after") ?? Number.NaN);
      throw new MimiApiError(
        response.status,
        typeof problem.title === "string" ? problem.title : response.statusText,
        typeof problem.detail === "string" ? problem.detail : text.slice(0, 200),
        problem,
        Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0 ? retryAfterSeconds * 1000 : undefined,
      );
    }
    return parsed as T;
  }

  createAccount(username: string, password: string) {
    return this.request<{ username: string; acct: string; actor: string; token: string }>(
      "POST",
      "/api/v1/accounts",
      {
        username,
        password,
      },
    );
  }

  createToken(username: string, password: string, label = "mimi cli") {
    return this.request<{ username: string; token: string }>("POST", "/api/v1/tokens", {
      username,
      password,
      label,
    });
  }

  me() {
    return this.request<AccountInfo>("GET", "/api/v1/me");
  }

  /** The account's sessions that are not logged out, newest first. */
  sessions() {
    return this.request<{ sessions: SessionInfo[] }>("GET", "/api/v1/tokens");
  }

  /** Logs this token's session out (the token is refused from then on). */
  async logOut(): Promise<void> {
    await this.request<undefined>("DELETE", "/api/v1/tokens/current");
  }

  /** Logs every session of the account out, this one included. */
  logOutEverywhere() {
    return this.request<{ revoked: number }>("DELETE", "/api/v1/tokens");
  }

  /** Logs one listed session out (404 when it is not one of the account's). */
  async endSession(sessionId: string): Promise<void> {
    await this.request<undefined>("DELETE", `/api/v1/tokens/${encodeURIComponent(sessionId)}`);
  }

  /**
   * Changes the account's password; every other session is logged out, this one stays. A wrong
   * current password is a 403 (`wrongPassword`) and counts as a failed login.
   */
  /** Deletes the account (the password confirms it); every session ends. */
  deleteAccount(password: string) {
    return this.request<{ deleted: boolean; quarantineUntil: string }>("POST", "/api/v1/me/delete", {
      password,
    });
  }

  changePassword(currentPassword: string, newPassword: string) {
    return this.request<{ revoked: number }>("POST", "/api/v1/me/password", {
      currentPassword,
      newPassword,
    });
  }

  createClient(name: string) {
    return this.request<{ id: string; name: string; username: string }>("POST", "/api/v1/clients", { name });
  }

  /** The user's clients (devices) registered at the home server. */
  listClients() {
    return this.request<{ items: { id: string; name: string; createdAt: string }[] }>(
      "GET",
      "/api/v1/clients",
    );
  }

  /**
   * Deletes one of the user's devices at the home server. `callingClientId` names the device that
   * asks, so the server refuses (409 `currentDevice`) to delete it unless `self` says so.
   */
  deleteClient(clientId: string, options: { callingClientId?: string; self?: boolean } = {}) {
    return this.request<{ deleted: boolean; id: string }>(
      "DELETE",
      `/api/v1/clients/${encodeURIComponent(clientId)}${options.self ? "?self=true" : ""}`,
      undefined,
      options.callingClientId ? { "mimi-client-id": options.callingClientId } : {},
    );
  }

  credentialChallenge(clientId: string) {
    return this.request<{ challenge: string; domain: string; user: string; clientId: string }>(
      "POST",
      `/api/v1/clients/${encodeURIComponent(clientId)}/credential/challenge`,
      {},
    );
  }

  issueCredential(
    clientId: string,
    proof: { challenge: string; signaturePublicKey: string; signature: string },
  ) {
    return this.request<{ chain: string[]; notAfter: string }>(
      "POST",
      `/api/v1/clients/${encodeURIComponent(clientId)}/credential`,
      proof,
    );
  }

  uploadKeyPackages(upload: { clientId: string; keyPackages: string[]; lastResort?: string }) {
    return this.request<unknown>("POST", "/api/v1/keypackages", upload);
  }

  keyPackageCounts() {
    return this.request<{ clients: KeyPackageCount[] }>("GET", "/api/v1/keypackages");
  }

  claimKeyPackages(acct: string, ciphersuites?: string[]) {
    return this.request<KeyPackageClaimCollection>("POST", "/api/v1/keypackages/claim", {
      acct,
      ...(ciphersuites ? { ciphersuites } : {}),
    });
  }

  /**
   * Submits an activity through the user's outbox (202). While the home server cannot take it for now
   * (a restart, a backing service down) the same activity is posted again a few times: its id makes
   * the repeat harmless, and the user sees a failure only when the outage outlasts the retries.
   */
  async postActivity(username: string, activity: Record<string, unknown>) {
    const path = `/users/${encodeURIComponent(username)}/outbox`;
    return this.withRetries(() =>
      this.requestOnce<unknown>("POST", path, activity, { "content-type": ACTIVITY_JSON_CONTENT_TYPE }),
    );
  }

  mailbox(after: number, limit?: number) {
    const query = new URLSearchParams({ after: String(after) });
    if (limit !== undefined) query.set("limit", String(limit));
    return this.request<MailboxPage>("GET", `/api/v1/mailbox?${query}`);
  }

  /** The home server's own channels the token's user is a member of (`id` is the channel URL). */
  myChannels() {
    return this.request<{ channels: { id: string; name: string; epoch: number }[] }>(
      "GET",
      "/api/v1/channels",
    );
  }

  /** Remote channels the token's user was recorded in (newest first), for a new device to join. */
  rememberedChannels() {
    return this.request<{ channels: { id: string; recordedAt: string }[] }>(
      "GET",
      "/api/v1/channels/remembered",
    );
  }

  /** Records that the token's user is a member of the remote `channel` (its server must confirm it). */
  async rememberChannel(channel: string): Promise<void> {
    await this.request<undefined>("PUT", `/api/v1/channels/remembered?${new URLSearchParams({ channel })}`);
  }

  channelLog(channel: string, after: number) {
    const query = new URLSearchParams({ channel, after: String(after) });
    return this.request<ChannelLogPage>("GET", `/api/v1/channels/log?${query}`);
  }

  channelFollowers(channel: string) {
    return this.request<{ orderedItems?: string[]; items?: string[]; "mimi:roles"?: unknown }>(
      "GET",
      `/api/v1/channels/followers?${new URLSearchParams({ channel })}`,
    );
  }

  channelGroupInfo(channel: string) {
    return this.request<Record<string, unknown>>(
      "GET",
      `/api/v1/channels/group-info?${new URLSearchParams({ channel })}`,
    );
  }

  /** WebFinger on the home server (only meaningful for its own users). */
  webfinger(acct: string) {
    return this.request<{ subject?: string; links?: { rel?: string; type?: string; href?: string }[] }>(
      "GET",
      `/.well-known/webfinger?${new URLSearchParams({ resource: acct })}`,
      undefined,
      { accept: "application/jrd+json" },
    );
  }
}

function unreachable(server: string, error: unknown): MimiApiError {
  const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  return new MimiApiError(0, "Unreachable", `cannot reach ${server}: ${reason}`);
}
