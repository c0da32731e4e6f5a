import { createServer, type Server } from "node:http";
import {
  createFederation,
  type Federation,
  generateCryptoKeyPair,
  type HttpMessageSignaturesSpec,
  MemoryKvStore,
} from "@fedify/fedify";
import { type Activity, Create, Endpoints, Person } from "@fedify/vocab";
import { closeNow, listenLocal } from "@mimi/testkit";

type KeyPair = Awaited<ReturnType<typeof generateCryptoKeyPair>>;

/**
 * A small ActivityPub server written with Fedify's `Federation` (not with our code): one actor,
 * `http://fedify.test/users/fed` with an RSA and an Ed25519 key as Fedify publishes them, a personal and
 * a shared inbox whose Create listener records what Fedify accepted. Fedify verifies every inbox POST
 * (HTTP signature, and that the activity's actor owns the key) before a listener sees it. Like Mastodon
 * in "authorized fetch" mode, it serves its actor only to a GET whose signature Fedify verifies.
 */
export class FedifyServer {
  readonly host = "fedify.test";
  readonly origin = `http://${this.host}`;
  readonly accepted: Activity[] = [];
  /** The verified signer of each GET of the actor document. */
  readonly actorFetchedBy: string[] = [];
  private server: Server | undefined;
  private readonly keys: KeyPair[];
  port = 0;

  private constructor(keys: KeyPair[]) {
    this.keys = keys;
  }

  static async create(): Promise<FedifyServer> {
    return new FedifyServer([
      await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
      await generateCryptoKeyPair("Ed25519"),
    ]);
  }

  /** A Federation of this server; `firstKnock` is the signature spec it tries first with a new peer. */
  federation(firstKnock: HttpMessageSignaturesSpec): Federation<void> {
    const federation = createFederation<void>({
      kv: new MemoryKvStore(),
      origin: this.origin,
      // The peers are local ports behind development host names.
      allowPrivateAddress: true,
      firstKnock,
    });
    federation
      .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
        if (identifier !== "fed") return null;
        const keys = await ctx.getActorKeyPairs(identifier);
        return new Person({
          id: ctx.getActorUri(identifier),
          preferredUsername: identifier,
          inbox: ctx.getInboxUri(identifier),
          endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
          publicKey: keys[0]?.cryptographicKey ?? null,
          assertionMethods: keys.map((key) => key.multikey),
        });
      })
      .setKeyPairsDispatcher((_ctx, identifier) => (identifier === "fed" ? this.keys : []))
      .authorize(async (ctx) => {
        const owner = await ctx.getSignedKeyOwner();
        if (owner?.id) this.actorFetchedBy.push(owner.id.href);
        return owner !== null;
      });
    federation.setInboxListeners("/users/{identifier}/inbox", "/inbox").on(Create, (_ctx, create) => {
      this.accepted.push(create);
    });
    return federation;
  }

  /** Serves `federation` on a local port, as `http://fedify.test`. */
  async listen(federation: Federation<void>): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", async () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (value === undefined || name === "connection" || name === "transfer-encoding") continue;
          for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
        }
        const method = req.method ?? "GET";
        const request = new Request(`${this.origin}${req.url ?? "/"}`, {
          method,
          headers,
          ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
        });
        const response = await federation.fetch(request, { contextData: undefined });
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      });
    });
    this.port = await listenLocal(server);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeNow(server);
  }
}
