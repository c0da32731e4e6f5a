/**
 * An in-memory stand-in for a set of MIMI providers (one per domain) and their channel servers,
 * implementing the client API contract the SDK codes against: accounts, clients and credentials,
 * KeyPackage upload/counts/claim, the outbox, the mailbox (pages and Server-Sent Events) and the
 * channel routes relayed by the home server. Channels verify commits with @mimi/mls's public
 * verifier, so epochs, Accepts and Rejects behave like the real channel-sequencer's.
 *
 * Use `network.fetch` as the SDK's fetch (it routes by host), or `serveOverHttp` to reach one domain
 * over real HTTP (the CLI tests).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  buildMimiConfiguration,
  createDomainCa,
  type DomainCa,
  issueClientCertificate,
  loadDomainCa,
  verifyProofOfPossession,
} from "@mimi/credentials";
import {
  acceptAnyCredential,
  applyCommit,
  checkGroupInfoMatches,
  fromWireObject,
  inspectPrivateMessage,
  type PublicGroupState,
  publicGroupFromGroupInfo,
} from "@mimi/mls";

type Json = Record<string, unknown>;

interface FakeUser {
  username: string;
  domain: string;
  password: string;
  actor: string;
  tokens: Set<string>;
  clients: { id: string; name: string; createdAt: string }[];
  keyPackages: Map<string, { pool: string[]; lastResort?: string }>;
  mailbox: { cursor: number; activityId: string; activity: Json; deliveredBy: string; receivedAt: string }[];
  listeners: Set<() => void>;
  /** The user's open mailbox streams: each ends itself with a last `event: closed` of this reason. */
  streams: Set<(reason: string) => void>;
}

interface FakeDomain {
  domain: string;
  base: string;
  ca: DomainCa;
  users: Map<string, FakeUser>;
  challenges: Map<string, { username: string; clientId: string }>;
}

export interface FakeChannel {
  url: string;
  id: string;
  name: string;
  state: PublicGroupState;
  followers: Set<string>;
  /** Owner and admins; everyone else is a member. */
  roles: Map<string, "owner" | "admin">;
  log: { sequence: number; epoch: number; activity: Json }[];
}

/** What happens to one mailbox delivery (tests use it to lose or delay forwards). */
export type DeliveryFate = "deliver" | "drop" | "hold";

export class FakeNetwork {
  readonly channels = new Map<string, FakeChannel>();
  /** Rejects every commit submitted to these channel URLs (to test giving up after a retry). */
  readonly rejectCommitsFor = new Set<string>();
  /**
   * Whether channels take key updates (`Update{mimi:KeyUpdate}` with a commit that only refreshes the
   * submitter's leaf). Off by default, as on the channel-sequencer today, which rejects them as an
   * Update it does not handle.
   */
  acceptKeyUpdates = false;
  /** Every request the SDK made, as `METHOD host/path`. */
  readonly requests: string[] = [];
  /** Domains that answer nothing (a provider briefly down). */
  readonly down = new Set<string>();
  /** Decides each mailbox delivery's fate; held ones wait in `held` until `releaseHeld`. */
  deliveryFate: (recipient: string, activity: Json) => DeliveryFate = () => "deliver";
  readonly held: { recipient: string; activity: Json; deliveredBy: string }[] = [];
  /**
   * The most items one mailbox page holds whatever `limit` asks (unset: no cap), as a server that
   * caps its pages by bytes answers short pages before the end.
   */
  mailboxPageCap: number | undefined;
  /** Stream requests still to refuse with 429 `tooManyStreams`, and the `Retry-After` (seconds) they carry. */
  private streamRefusals = { count: 0, retryAfterSeconds: 30 };
  private cursor = 0;

  private constructor(private readonly domains: Map<string, FakeDomain>) {}

  static async create(domainNames: string[]): Promise<FakeNetwork> {
    const domains = new Map<string, FakeDomain>();
    for (const domain of domainNames) {
      domains.set(domain, {
        domain,
        base: `http://${domain}`,
        ca: await loadDomainCa(await createDomainCa(domain)),
        users: new Map(),
        challenges: new Map(),
      });
    }
    return new FakeNetwork(domains);
  }

  /** A fetch that routes each request to the fake provider of its host. */
  readonly fetch: typeof fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    return this.handle(request);
  };

  user(handle: string): FakeUser | undefined {
    const [username, domain] = handle.split("@");
    return this.domains.get(domain ?? "")?.users.get(username ?? "");
  }

  /** Creates an account directly (what `mimi account create` does over the API). */
  createUser(handle: string, password = "a long password"): { token: string; actor: string } {
    const [username = "", domainName = ""] = handle.split("@");
    const domain = this.domain(domainName);
    const token = randomUUID();
    const actor = `${domain.base}/users/${username}`;
    domain.users.set(username, {
      username,
      domain: domainName,
      password,
      actor,
      tokens: new Set([token]),
      clients: [],
      keyPackages: new Map(),
      mailbox: [],
      listeners: new Set(),
      streams: new Set(),
    });
    return { token, actor };
  }

  /** The next `count` mailbox stream requests get 429 `tooManyStreams` with this `Retry-After`. */
  refuseStreams(count: number, retryAfterSeconds = 30): void {
    this.streamRefusals = { count, retryAfterSeconds };
  }

  /**
   * Ends the open mailbox streams of `handle` as the server does: a last event `closed` with the
   * reason (`behind`, `idle`, `unavailable`). Returns how many were open.
   */
  closeStreams(handle: string, reason: string): number {
    const user = this.user(handle);
    if (!user) throw new Error(`no fake user ${handle}`);
    const streams = [...user.streams];
    for (const close of streams) close(reason);
    return streams.length;
  }

  private domain(name: string): FakeDomain {
    const domain = this.domains.get(name);
    if (!domain) throw new Error(`no fake domain ${name}`);
    return domain;
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const domain = this.domains.get(url.host);
    this.requests.push(`${request.method} ${url.host}${url.pathname}`);
    if (this.down.has(url.host))
      throw new TypeError("fetch failed", { cause: new Error(`${url.host} is down`) });
    if (!domain) return problem(502, "Bad Gateway", `no provider at ${url.host}`);
    try {
      return await this.route(domain, request, url);
    } catch (error) {
      if (error instanceof Response) return error;
      return problem(500, "Internal Server Error", error instanceof Error ? error.message : String(error));
    }
  }

  private authenticate(domain: FakeDomain, request: Request): FakeUser {
    const token = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    for (const user of domain.users.values()) if (user.tokens.has(token)) return user;
    throw problem(401, "Unauthorized", "a valid bearer token is required");
  }

  private async route(domain: FakeDomain, request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    const method = request.method;
    const body = async (): Promise<Json> => {
      const text = await request.text();
      return text ? (JSON.parse(text) as Json) : {};
    };

    if (method === "GET" && path === "/.well-known/mimi-configuration")
      return json(
        buildMimiConfiguration({
          domain: domain.domain,
          ciphersuites: ["MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"],
          issuersPem: [domain.ca.certificatePem],
        }),
      );
    if (method === "GET" && path === "/.well-known/webfinger") {
      const resource = url.searchParams.get("resource") ?? "";
      const user = domain.users.get(resource.replace(/^acct:/, "").split("@")[0] ?? "");
      if (!user || !resource.endsWith(`@${domain.domain}`)) return problem(404, "Not Found", "unknown user");
      return json({
        subject: resource,
        links: [{ rel: "self", type: "application/activity+json", href: user.actor }],
      });
    }
    if (method === "POST" && path === "/api/v1/accounts") {
      const { username, password } = (await body()) as { username: string; password: string };
      if (domain.users.has(username)) return problem(409, "Conflict", `the name ${username} is taken`);
      const { token, actor } = this.createUser(`${username}@${domain.domain}`, password);
      return json({ username, acct: `acct:${username}@${domain.domain}`, actor, token }, 201);
    }
    if (method === "POST" && path === "/api/v1/tokens") {
      const { username, password } = (await body()) as { username: string; password: string };
      const user = domain.users.get(username);
      if (!user || user.password !== password)
        return problem(401, "Unauthorized", "invalid username or password");
      const token = randomUUID();
      user.tokens.add(token);
      return json({ username, token }, 201);
    }

    const user = this.authenticate(domain, request);
    const sessions = this.sessions(user, request);
    if (sessions) return sessions;
    if (method === "GET" && path === "/api/v1/me")
      return json({
        username: user.username,
        acct: `acct:${user.username}@${domain.domain}`,
        actor: user.actor,
        clients: user.clients,
      });
    if (method === "POST" && path === "/api/v1/clients") {
      const { name } = (await body()) as { name: string };
      const client = { id: randomBytes(8).toString("hex"), name, createdAt: new Date().toISOString() };
      user.clients.push(client);
      return json({ id: client.id, name, username: user.username }, 201);
    }
    const credentialPath = /^\/api\/v1\/clients\/([^/]+)\/credential(\/challenge)?$/.exec(path);
    if (method === "POST" && credentialPath) {
      const clientId = decodeURIComponent(credentialPath[1] ?? "");
      if (!user.clients.some((c) => c.id === clientId)) return problem(404, "Not Found", "no such client");
      if (credentialPath[2]) {
        const challenge = randomBytes(32).toString("base64url");
        domain.challenges.set(challenge, { username: user.username, clientId });
        return json({ challenge, domain: domain.domain, user: user.username, clientId }, 201);
      }
      const proof = (await body()) as { challenge: string; signaturePublicKey: string; signature: string };
      const expected = domain.challenges.get(proof.challenge);
      domain.challenges.delete(proof.challenge);
      if (expected?.clientId !== clientId || expected.username !== user.username)
        return problem(400, "Bad Request", "unknown, expired or already used challenge");
      const signaturePublicKey = new Uint8Array(Buffer.from(proof.signaturePublicKey, "base64"));
      const fields = { challenge: proof.challenge, user: user.username, domain: domain.domain, clientId };
      if (
        !verifyProofOfPossession({
          ...fields,
          signaturePublicKey,
          signature: new Uint8Array(Buffer.from(proof.signature, "base64")),
        })
      )
        return problem(400, "Bad Request", "the proof of possession does not verify with this key");
      const issued = await issueClientCertificate(domain.ca, {
        user: user.username,
        domain: domain.domain,
        clientId,
        signaturePublicKey,
      });
      return json(
        {
          chain: issued.chainDer.map((der) => Buffer.from(der).toString("base64")),
          notAfter: new Date(Date.now() + 90 * 86_400_000).toISOString(),
        },
        201,
      );
    }
    if (path === "/api/v1/keypackages" && method === "POST") {
      const upload = (await body()) as { clientId: string; keyPackages: string[]; lastResort?: string };
      if (!user.clients.some((c) => c.id === upload.clientId))
        return problem(404, "Not Found", "no such client");
      const entry = user.keyPackages.get(upload.clientId) ?? { pool: [] };
      entry.pool.push(...upload.keyPackages);
      if (upload.lastResort) entry.lastResort = upload.lastResort;
      user.keyPackages.set(upload.clientId, entry);
      return json({ stored: upload.keyPackages.length + (upload.lastResort ? 1 : 0) }, 201);
    }
    if (path === "/api/v1/keypackages" && method === "GET")
      return json({
        clients: [...user.keyPackages].map(([clientId, entry]) => ({
          clientId,
          available: entry.pool.length,
          hasLastResort: entry.lastResort !== undefined,
        })),
      });
    if (path === "/api/v1/keypackages/claim" && method === "POST") {
      const { acct } = (await body()) as { acct: string };
      const claimed = this.user(String(acct).replace(/^acct:/, ""));
      if (!claimed) return problem(404, "Not Found", `unknown user ${acct}`);
      const items: Json[] = [];
      for (const [clientId, entry] of claimed.keyPackages) {
        const fromPool = entry.pool.shift();
        const content = fromPool ?? entry.lastResort;
        if (!content) continue;
        items.push({
          type: "KeyPackage",
          mediaType: "message/mls",
          encoding: "base64",
          content,
          ciphersuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
          "mimi:client": clientId,
          ...(fromPool ? {} : { "mimi:lastResort": true }),
        });
      }
      return json({ type: "Collection", actor: claimed.actor, totalItems: items.length, items });
    }
    const outbox = /^\/users\/([^/]+)\/outbox$/.exec(path);
    if (outbox && method === "POST") {
      if (outbox[1] !== user.username) return problem(403, "Forbidden", "this token belongs to another user");
      if (!request.headers.get("content-type")?.startsWith("application/activity+json"))
        return problem(415, "Unsupported Media Type", "activity+json expected");
      const activity = await body();
      if (activity.actor !== user.actor)
        return problem(403, "Forbidden", "the activity's actor must be the user");
      if (typeof activity.id !== "string" || !activity.id.startsWith(`${user.actor}/activities/`))
        return problem(400, "Bad Request", "the activity id must be under the actor");
      // A group DM's message (docs/protocol.md 14.4): straight to each participant's actor, as its
      // actor's; no channel sees it.
      if (
        activity.target === undefined &&
        typeof activity.context === "string" &&
        Array.isArray(activity.to)
      ) {
        for (const recipient of activity.to)
          if (typeof recipient === "string") this.deliver(recipient, activity, user.actor);
        return new Response(null, { status: 202 });
      }
      await this.submitToChannel(activity, user);
      return new Response(null, { status: 202 });
    }
    if (path === "/api/v1/mailbox" && method === "GET") {
      const after = Number(url.searchParams.get("after") ?? 0);
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const items = user.mailbox
        .filter((item) => item.cursor > after)
        .slice(0, Math.min(limit, this.mailboxPageCap ?? limit));
      return json({ items, next: items.at(-1)?.cursor ?? after });
    }
    if (path === "/api/v1/mailbox/stream" && method === "GET") return this.stream(user, request);
    if (path.startsWith("/api/v1/channels/") && method === "GET") {
      const channel = this.channels.get(url.searchParams.get("channel") ?? "");
      if (!channel) return problem(404, "Not Found", "unknown channel");
      if (!channel.followers.has(user.actor)) return problem(403, "Forbidden", "not a member");
      if (path === "/api/v1/channels/followers")
        return json({
          type: "OrderedCollection",
          orderedItems: [...channel.followers],
          "mimi:roles": Object.fromEntries(
            [...channel.followers].map((actor) => [actor, channel.roles.get(actor) ?? "member"]),
          ),
        });
      if (path === "/api/v1/channels/log") {
        const after = Number(url.searchParams.get("after") ?? 0);
        const items = channel.log.filter((item) => item.sequence > after).slice(0, 50);
        return json({ items, next: items.length === 50 ? items.at(-1)?.sequence : null });
      }
    }
    return problem(404, "Not Found", `no route ${method} ${path}`);
  }

  /**
   * Sessions as identity serves them: the list (ids are 16 hex digits of the token's hash), logging
   * this one, one listed or every session out, and a password change that logs the others out.
   */
  private sessions(user: FakeUser, request: Request): Promise<Response> | Response | undefined {
    const path = new URL(request.url).pathname;
    const method = request.method;
    const current = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    const idOf = (token: string) => createHash("sha256").update(token).digest("hex").slice(0, 16);
    if (path === "/api/v1/tokens" && method === "GET")
      return json({
        sessions: [...user.tokens].map((token) => ({
          id: idOf(token),
          label: "mimi cli",
          createdAt: new Date(0).toISOString(),
          current: token === current,
        })),
      });
    if (path === "/api/v1/tokens" && method === "DELETE") {
      const revoked = user.tokens.size;
      user.tokens.clear();
      return json({ revoked });
    }
    if (path === "/api/v1/tokens/current" && method === "DELETE") {
      user.tokens.delete(current);
      return new Response(null, { status: 204 });
    }
    if (path.startsWith("/api/v1/tokens/") && method === "DELETE") {
      const id = decodeURIComponent(path.slice("/api/v1/tokens/".length));
      const token = [...user.tokens].find((candidate) => idOf(candidate) === id);
      if (!token) return problem(404, "Not Found", "no such session");
      user.tokens.delete(token);
      return new Response(null, { status: 204 });
    }
    if (path === "/api/v1/me/password" && method === "POST")
      return (async () => {
        const { currentPassword, newPassword } = (await request.json()) as Record<string, unknown>;
        if (currentPassword !== user.password)
          return problem(403, "Forbidden", "the current password is not right", { reason: "wrongPassword" });
        if (typeof newPassword !== "string" || newPassword.length < 8)
          return problem(400, "Bad Request", "newPassword: must be at least 8 characters");
        user.password = newPassword;
        const others = [...user.tokens].filter((token) => token !== current);
        for (const token of others) user.tokens.delete(token);
        return json({ revoked: others.length });
      })();
    return undefined;
  }

  private stream(user: FakeUser, request: Request): Response {
    if (this.streamRefusals.count > 0) {
      this.streamRefusals.count -= 1;
      return problem(429, "Too Many Requests", "too many open mailbox streams for this user", {
        reason: "tooManyStreams",
        retryAfterSeconds: this.streamRefusals.retryAfterSeconds,
      });
    }
    let sent = Number(request.headers.get("last-event-id") ?? 0);
    const encoder = new TextEncoder();
    let listener: (() => void) | undefined;
    let close: ((reason: string) => void) | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        listener = () => {
          for (const item of user.mailbox.filter((i) => i.cursor > sent)) {
            controller.enqueue(
              encoder.encode(`id: ${item.cursor}\nevent: activity\ndata: ${JSON.stringify(item)}\n\n`),
            );
            sent = item.cursor;
          }
        };
        controller.enqueue(encoder.encode("retry: 3000\n\n: hello\n\n"));
        listener();
        user.listeners.add(listener);
        close = (reason) => {
          if (listener) user.listeners.delete(listener);
          if (close) user.streams.delete(close);
          try {
            controller.enqueue(encoder.encode(`event: closed\ndata: ${JSON.stringify({ reason })}\n\n`));
            controller.close();
          } catch {
            // already closed
          }
        };
        user.streams.add(close);
        request.signal.addEventListener("abort", () => {
          if (listener) user.listeners.delete(listener);
          if (close) user.streams.delete(close);
          try {
            controller.close();
          } catch {
            // already closed
          }
        });
      },
      cancel() {
        if (listener) user.listeners.delete(listener);
        if (close) user.streams.delete(close);
      },
    });
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  }

  /**
   * Delivers an activity into the mailbox of the user with this actor URL, as delivered (signed) by
   * `deliveredBy` (the channel, for its forwards and answers), unless `deliveryFate` says otherwise.
   */
  deliver(actor: string, activity: Json, deliveredBy: string): void {
    const fate = this.deliveryFate(actor, activity);
    if (fate === "drop") return;
    if (fate === "hold") {
      this.held.push({ recipient: actor, activity, deliveredBy });
      return;
    }
    this.store(actor, activity, deliveredBy);
  }

  /** Delivers what was held, in the given order (default: as held). */
  releaseHeld(order: (held: FakeNetwork["held"]) => FakeNetwork["held"] = (held) => held): void {
    const releasing = order([...this.held]);
    this.held.length = 0;
    for (const entry of releasing) this.store(entry.recipient, entry.activity, entry.deliveredBy);
  }

  private store(actor: string, activity: Json, deliveredBy: string): void {
    for (const domain of this.domains.values())
      for (const user of domain.users.values()) {
        if (user.actor !== actor) continue;
        this.cursor += 1;
        user.mailbox.push({
          cursor: this.cursor,
          activityId: String(activity.id),
          activity,
          deliveredBy,
          receivedAt: new Date().toISOString(),
        });
        for (const listener of user.listeners) listener();
      }
  }

  // -------------------------------------------------------------------------
  // The channel servers
  // -------------------------------------------------------------------------

  private verdict(channel: FakeChannel, submitter: string, objectId: string, accepted: boolean, extra: Json) {
    this.deliver(
      submitter,
      {
        id: `${channel.url}/activities/${randomUUID()}`,
        type: accepted ? "Accept" : "Reject",
        actor: channel.url,
        object: objectId,
        to: [submitter],
        ...extra,
      },
      channel.url,
    );
  }

  /** Logs an accepted activity and forwards it, numbered, to the followers (its submitter included, as the sequencer does). */
  private append(channel: FakeChannel, activity: Json, _submitter: string, extraRecipients: string[] = []) {
    const sequence = (channel.log.at(-1)?.sequence ?? 0) + 1;
    channel.log.push({ sequence, epoch: Number(channel.state.epoch), activity });
    for (const follower of new Set([...channel.followers, ...extraRecipients]))
      this.deliver(follower, { ...activity, "mimi:sequence": sequence }, channel.url);
    return sequence;
  }

  private async submitToChannel(activity: Json, user: FakeUser) {
    const target = typeof activity.target === "string" ? activity.target : "";
    const submitter = user.actor;
    const id = String(activity.id);
    const object = activity.object as Json | string | undefined;
    if (activity.type === "Create" && typeof object === "object" && object?.type === "Service") {
      if (this.channels.has(target))
        return this.verdict({ url: target } as FakeChannel, submitter, id, false, { summary: "exists" });
      const wire = fromWireObject(activity["mimi:groupInfo"], "GroupInfo");
      if (!wire.ok) throw problem(400, "Bad Request", wire.detail);
      const group = await publicGroupFromGroupInfo(wire.bytes, { validateCredential: acceptAnyCredential });
      const channelId = target.slice(target.lastIndexOf("/") + 1);
      if (
        !group.ok ||
        group.state.epoch !== 0n ||
        Buffer.from(group.state.groupId).toString("base64url") !== channelId
      )
        return this.verdict({ url: target } as FakeChannel, submitter, id, false, {
          summary: "bad GroupInfo",
        });
      const channel: FakeChannel = {
        url: target,
        id: channelId,
        name: String(object.name),
        state: group.state,
        followers: new Set([submitter]),
        roles: new Map([[submitter, "owner"]]),
        log: [],
      };
      this.channels.set(target, channel);
      const sequence = this.append(channel, activity, submitter);
      this.verdict(channel, submitter, id, true, { "mimi:epoch": 0, "mimi:sequence": sequence });
      return;
    }
    const channel = this.channels.get(target);
    if (!channel) throw problem(404, "Not Found", "unknown channel");
    if (!channel.followers.has(submitter)) throw problem(403, "Forbidden", "not a member");
    if (activity.type === "Add" || activity.type === "Remove") {
      const commit = fromWireObject(activity["mimi:commit"], "PublicMessage");
      const groupInfo = fromWireObject(activity["mimi:groupInfo"], "GroupInfo");
      if (!commit.ok || !groupInfo.ok) throw problem(400, "Bad Request", "bad MLS objects");
      const reject = (summary: string) =>
        this.verdict(channel, submitter, id, false, {
          "mimi:currentEpoch": Number(channel.state.epoch),
          summary,
        });
      if (this.rejectCommitsFor.has(channel.url)) return reject("refused by a test");
      const applied = await applyCommit(channel.state, commit.bytes, {
        validateCredential: acceptAnyCredential,
      });
      if (!applied.ok) return reject(`${applied.reason}: ${applied.detail}`);
      const matches = await checkGroupInfoMatches(applied.next, groupInfo.bytes);
      if (!matches.ok) return reject(`GroupInfo: ${matches.detail}`);
      const member = String(activity.object);
      channel.state = applied.next;
      if (activity.type === "Add") channel.followers.add(member);
      else channel.followers.delete(member);
      if (activity.type === "Remove") channel.roles.delete(member);
      const sequence = this.append(channel, activity, submitter, activity.type === "Remove" ? [member] : []);
      this.verdict(channel, submitter, id, true, {
        "mimi:epoch": Number(channel.state.epoch),
        "mimi:sequence": sequence,
      });
      return;
    }
    if (activity.type === "Update" && typeof object === "object" && object?.type === "mimi:KeyUpdate") {
      const reject = (summary: string) =>
        this.verdict(channel, submitter, id, false, {
          "mimi:currentEpoch": Number(channel.state.epoch),
          summary,
        });
      if (!this.acceptKeyUpdates) return reject("the channel does not handle Update of mimi:KeyUpdate");
      const commit = fromWireObject(activity["mimi:commit"], "PublicMessage");
      const groupInfo = fromWireObject(activity["mimi:groupInfo"], "GroupInfo");
      if (!commit.ok || !groupInfo.ok) throw problem(400, "Bad Request", "bad MLS objects");
      if (object["mimi:member"] !== submitter) return reject("a key update's mimi:member must be its actor");
      const applied = await applyCommit(channel.state, commit.bytes, {
        validateCredential: acceptAnyCredential,
      });
      if (!applied.ok) return reject(`${applied.reason}: ${applied.detail}`);
      const { summary } = applied;
      if (summary.added.length > 0 || summary.removed.length > 0 || !summary.hasUpdatePath)
        return reject("a key update's commit must only refresh the committer's leaf");
      const matches = await checkGroupInfoMatches(applied.next, groupInfo.bytes);
      if (!matches.ok) return reject(`GroupInfo: ${matches.detail}`);
      channel.state = applied.next;
      const sequence = this.append(channel, activity, submitter);
      this.verdict(channel, submitter, id, true, {
        "mimi:epoch": Number(channel.state.epoch),
        "mimi:sequence": sequence,
      });
      return;
    }
    if (activity.type === "Create" && typeof object === "object" && object?.type === "PrivateMessage") {
      const message = fromWireObject(object, "PrivateMessage");
      if (!message.ok) throw problem(400, "Bad Request", message.detail);
      const inspected = inspectPrivateMessage(channel.state, message.bytes);
      if (!inspected.ok || inspected.epoch + 1n < channel.state.epoch)
        return this.verdict(channel, submitter, id, false, { summary: "message outside the epoch window" });
      // As the channel sequencer does: the forward to the followers, then the Accept to the sender.
      const sequence = this.append(channel, activity, submitter);
      this.verdict(channel, submitter, id, true, {
        "mimi:epoch": Number(channel.state.epoch),
        "mimi:sequence": sequence,
      });
      return;
    }
    if (activity.type === "Update" && typeof object === "object" && typeof object?.name === "string") {
      if (!channel.roles.has(submitter))
        return this.verdict(channel, submitter, id, false, {
          summary: "only the channel's owner or an admin may rename it",
        });
      channel.name = object.name;
      const sequence = this.append(channel, activity, submitter);
      this.verdict(channel, submitter, id, true, { "mimi:sequence": sequence });
      return;
    }
    if (activity.type === "Update" && typeof object === "object" && object?.type === "mimi:Role") {
      const member = String(object["mimi:member"]);
      const role = object["mimi:role"];
      const submitterRole = channel.roles.get(submitter);
      if (
        submitterRole === undefined ||
        !channel.followers.has(member) ||
        channel.roles.get(member) === "owner"
      )
        return this.verdict(channel, submitter, id, false, {
          summary: "only the channel's owner or an admin may change roles",
        });
      if (role === "admin") channel.roles.set(member, "admin");
      else channel.roles.delete(member);
      const sequence = this.append(channel, activity, submitter);
      this.verdict(channel, submitter, id, true, { "mimi:sequence": sequence });
      return;
    }
    throw problem(400, "Bad Request", `unsupported ${String(activity.type)}`);
  }
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}

function problem(
  status: number,
  title: string,
  detail: string,
  extra: { reason?: string; retryAfterSeconds?: number } = {},
): Response {
  const { reason, retryAfterSeconds } = extra;
  return new Response(JSON.stringify({ title, status, detail, ...(reason ? { reason } : {}) }), {
    status,
    headers: {
      "content-type": "application/problem+json",
      ...(retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) }),
    },
  });
}

/** Serves one fake domain on 127.0.0.1 (requests keep their `Host` semantics: the domain's URLs). */
export async function serveOverHttp(
  network: FakeNetwork,
  domain: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === "string") headers.set(name, value);
    const request = new Request(`http://${domain}${req.url ?? "/"}`, {
      method: req.method ?? "GET",
      headers,
      signal: abort.signal,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const response = await network.handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return void res.end();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
    } catch {
      // the client went away
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
