import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createCa, type ForeignCa } from "./credentials.js";
import { HostMap, type SigningKey, signatureParameters, verifyRequest } from "./http.js";
import { ForeignMember } from "./member.js";

/** An activity as a foreign server reads it: plain JSON, keys taken literally (docs/protocol.md 1). */
export type Activity = Record<string, unknown> & { id?: string; type?: string; actor?: unknown };

/** `actor` as a URL or an object with an `id` (section 10). */
export function actorOf(activity: Activity): string | undefined {
  const actor = activity.actor;
  if (typeof actor === "string") return actor;
  const id = typeof actor === "object" && actor !== null ? (actor as { id?: unknown }).id : undefined;
  return typeof id === "string" ? id : undefined;
}

/** An inbox POST that passed the signature check, with who signed it and where it arrived. */
export interface Delivery {
  path: string;
  signer: string;
  /** The headers the signature covers, in order. */
  signedHeaders: string[];
  contentType: string | undefined;
  activity: Activity;
}

/** A GET another provider made here, with the key that signed it (if any) and what it accepts. */
export interface SeenGet {
  path: string;
  keyId: string | undefined;
  signedHeaders: string | undefined;
  accept: string | undefined;
}

export interface Claim {
  signer: string;
  signedHeaders: string[];
  body: unknown;
  contentType: string | undefined;
}

const CONTEXT = [
  "https://www.w3.org/ns/activitystreams",
  "https://w3id.org/security/v1",
  {
    mimi: "https://w3id.org/mimi-activitypub/ns#",
    keyPackages: { "@id": "mimi:keyPackages", "@type": "@id" },
  },
];

const AS_PUBLIC = new Set(["https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"]);

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === "string" && !AS_PUBLIC.has(v))
    : [];
}

/**
 * Another MIMI provider, written from docs/protocol.md alone: `http://<domain>` with one user, its own
 * domain CA, WebFinger, actor documents, a claim endpoint answering with bare KeyPackages, and inboxes
 * that verify draft-cavage signatures and the forwarding rule of section 6.8. It keeps what arrived
 * so a test can act as the user's client.
 */
export class ForeignProvider {
  readonly origin: string;
  readonly user: string;
  readonly actorUrl: string;
  readonly deliveries: Delivery[] = [];
  /** Requests refused, with the reason (a foreign server's log). */
  readonly refusals: { method: string; path: string; status: number; detail: string }[] = [];
  readonly claims: Claim[] = [];
  readonly gets: SeenGet[] = [];
  member!: ForeignMember;
  ca!: ForeignCa;
  hosts!: HostMap;
  port = 0;
  readonly userKey: SigningKey;
  readonly instanceKey: SigningKey;
  private readonly userPem: string;
  private readonly instancePem: string;
  private server: Server | undefined;
  private readonly issuerCache = new Map<string, string[]>();

  constructor(
    readonly domain: string,
    user: string,
  ) {
    this.origin = `http://${domain}`;
    this.user = user;
    this.actorUrl = `${this.origin}/users/${user}`;
    const userPair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const instancePair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.userKey = { keyId: `${this.actorUrl}#main-key`, privateKey: userPair.privateKey };
    this.instanceKey = { keyId: `${this.origin}/actor#main-key`, privateKey: instancePair.privateKey };
    this.userPem = userPair.publicKey.export({ type: "spki", format: "pem" }).toString();
    this.instancePem = instancePair.publicKey.export({ type: "spki", format: "pem" }).toString();
  }

  async listen(): Promise<number> {
    this.ca = await createCa(this.domain);
    this.member = await ForeignMember.create(`${this.user}-device-1`, (domain) => this.issuersOf(domain));
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        this.handle(req, Buffer.concat(chunks), res).catch((error: unknown) => {
          this.refusals.push({
            method: req.method ?? "",
            path: req.url ?? "",
            status: 500,
            detail: String(error),
          });
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** The host mapping through which this provider reaches the others (and itself). */
  connect(mapping: string): void {
    this.hosts = new HostMap(mapping);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `credential_issuers` of `domain`'s `mimi-configuration` (section 2.3), cached. */
  async issuersOf(domain: string): Promise<string[]> {
    const cached = this.issuerCache.get(domain);
    if (cached) return cached;
    const answer = await this.hosts.send(`http://${domain}/.well-known/mimi-configuration`, {
      method: "GET",
      headers: { accept: "application/json" },
    });
    const document = JSON.parse(answer.body) as { domain?: string; credential_issuers?: string[] };
    if (answer.status !== 200 || document.domain !== domain)
      throw new Error(`${domain}: no mimi-configuration`);
    const issuers = document.credential_issuers ?? [];
    this.issuerCache.set(domain, issuers);
    return issuers;
  }

  /** A signed GET as this provider's instance actor (section 3.1), answered as JSON. */
  async read(url: string): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    const answer = await this.hosts.signedGet(url, this.instanceKey);
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    return { status: answer.status, body };
  }

  /** Sends an activity as the user to `inbox`, signed by the user's key. */
  submit(inbox: string, activity: Activity) {
    return this.hosts.signedPost(inbox, this.userKey, activity);
  }

  private json(res: ServerResponse, status: number, body: unknown, type = "application/activity+json"): void {
    res.writeHead(status, { "content-type": type }).end(JSON.stringify(body));
  }

  private problem(req: IncomingMessage, res: ServerResponse, status: number, detail: string): void {
    this.refusals.push({ method: req.method ?? "", path: req.url ?? "", status, detail });
    this.json(
      res,
      status,
      { type: "about:blank", title: "refused", status, detail },
      "application/problem+json",
    );
  }

  private person() {
    return {
      "@context": CONTEXT,
      id: this.actorUrl,
      type: "Person",
      preferredUsername: this.user,
      name: this.user,
      inbox: `${this.actorUrl}/inbox`,
      outbox: `${this.actorUrl}/outbox`,
      followers: `${this.actorUrl}/followers`,
      following: `${this.actorUrl}/following`,
      endpoints: { sharedInbox: `${this.origin}/inbox` },
      publicKey: { id: this.userKey.keyId, owner: this.actorUrl, publicKeyPem: this.userPem },
      keyPackages: `${this.actorUrl}/keyPackages`,
      "mimi:keyPackageClaim": `${this.actorUrl}/keyPackages/claim`,
    };
  }

  private instanceActor() {
    const id = `${this.origin}/actor`;
    return {
      "@context": CONTEXT,
      id,
      type: "Application",
      preferredUsername: this.domain,
      inbox: `${id}/inbox`,
      endpoints: { sharedInbox: `${this.origin}/inbox` },
      publicKey: { id: this.instanceKey.keyId, owner: id, publicKeyPem: this.instancePem },
    };
  }

  private async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const path = url.pathname;
    if (req.method === "GET") {
      const header = req.headers.signature;
      const signature = signatureParameters(typeof header === "string" ? header : undefined);
      this.gets.push({
        path: `${path}${url.search}`,
        keyId: signature.keyId,
        signedHeaders: signature.headers,
        accept: req.headers.accept,
      });
      if (path === "/.well-known/webfinger") {
        const resource = url.searchParams.get("resource");
        if (resource !== `acct:${this.user}@${this.domain}` && resource !== this.actorUrl)
          return this.problem(req, res, 404, "no such account");
        return this.json(
          res,
          200,
          {
            subject: `acct:${this.user}@${this.domain}`,
            aliases: [this.actorUrl],
            links: [{ rel: "self", type: "application/activity+json", href: this.actorUrl }],
          },
          "application/jrd+json",
        );
      }
      if (path === "/.well-known/mimi-configuration")
        return this.json(
          res,
          200,
          { domain: this.domain, ciphersuites: [this.member.ciphersuite], credential_issuers: [this.ca.pem] },
          "application/json",
        );
      if (path === `/users/${this.user}`) return this.json(res, 200, this.person());
      if (path === "/actor") return this.json(res, 200, this.instanceActor());
      return this.problem(req, res, 404, "not found");
    }
    if (req.method !== "POST") return this.problem(req, res, 405, "method not allowed");
    const verified = await verifyRequest(this.hosts, this.instanceKey, {
      method: "POST",
      url: req.url ?? "/",
      headers: req.headers,
      body,
    });
    if (!verified.ok) return this.problem(req, res, 401, verified.detail);
    if (path === `/users/${this.user}/keyPackages/claim`) return this.claim(req, body, verified, res);
    if (path !== "/inbox" && path !== `/users/${this.user}/inbox`)
      return this.problem(req, res, 404, "no such inbox");
    const type = req.headers["content-type"] ?? "";
    if (!type.startsWith("application/activity+json") && !type.startsWith("application/ld+json"))
      return this.problem(req, res, 415, `content type ${type}`);
    const activity = JSON.parse(body.toString("utf8")) as Activity;
    if (verified.signer !== actorOf(activity)) {
      const refused = await this.forwardingRule(activity, verified.signer);
      if (refused) return this.problem(req, res, 401, refused);
    }
    this.deliveries.push({
      path,
      signer: verified.signer,
      signedHeaders: verified.signedHeaders,
      contentType: req.headers["content-type"],
      activity,
    });
    res.writeHead(202).end();
  }

  /**
   * Section 6.8: an activity signed by someone other than its actor is taken only from the channel its
   * `target` names, addressed to that channel's followers, for an actor the followers list names.
   */
  private async forwardingRule(activity: Activity, signer: string): Promise<string | undefined> {
    const target = typeof activity.target === "string" ? activity.target : undefined;
    if (target !== signer) return `forward signed by ${signer}, not by its target ${String(target)}`;
    const followers = `${target}/followers`;
    if (!strings(activity.to).includes(followers)) return "the channel's followers are not in to";
    const actor = actorOf(activity);
    if (activity.type === "Remove" && activity.object === actor) return undefined;
    const read = await this.read(followers);
    if (read.status !== 200) return `${followers} answered ${read.status}`;
    const items = strings(read.body?.orderedItems ?? read.body?.items);
    return actor !== undefined && items.includes(actor) ? undefined : `${String(actor)} is not a member`;
  }

  /** Section 5.3: one KeyPackage for the user's one client, bare, in a Collection. */
  private async claim(
    req: IncomingMessage,
    body: Buffer,
    verified: { signer: string; signedHeaders: string[] },
    res: ServerResponse,
  ): Promise<void> {
    let request: { ciphersuites?: unknown };
    try {
      request = JSON.parse(body.toString("utf8")) as { ciphersuites?: unknown };
    } catch {
      return this.problem(req, res, 400, "not JSON");
    }
    this.claims.push({
      signer: verified.signer,
      signedHeaders: verified.signedHeaders,
      body: request,
      contentType: req.headers["content-type"],
    });
    const suites = Array.isArray(request.ciphersuites) ? request.ciphersuites : [];
    if (!suites.includes(this.member.ciphersuite) && !suites.includes(1))
      return this.json(res, 200, {
        "@context": CONTEXT,
        type: "Collection",
        attributedTo: this.actorUrl,
        totalItems: 0,
        items: [],
        "mimi:unavailable": [
          { "mimi:client": this.member.clientId, "mimi:reason": "noKeyPackageInRequestedCiphersuites" },
        ],
      });
    const keyPackage = await this.member.bareKeyPackage(this.ca, this.user, this.domain);
    return this.json(res, 200, {
      "@context": CONTEXT,
      type: "Collection",
      attributedTo: this.actorUrl,
      totalItems: 1,
      items: [
        {
          type: "KeyPackage",
          mediaType: "message/mls",
          encoding: "base64",
          content: Buffer.from(keyPackage).toString("base64"),
          ciphersuite: this.member.ciphersuite,
          "mimi:client": this.member.clientId,
        },
      ],
    });
  }
}
