import { appendFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import {
  type DocumentLoader,
  fetchKey,
  getDocumentLoader,
  type KeyCache,
  verifyRequestDetailed,
} from "@fedify/fedify";
import { CryptographicKey, Multikey } from "@fedify/vocab";
import { closeNow, listenLocal } from "@mimi/testkit";

/** What Fedify made of one request a provider sent. */
export interface CheckedRequest {
  /** The provider that sent it (each front carries one sender's requests to one host). */
  sender: string;
  /** The host it was sent to. */
  receiver: string;
  method: string;
  path: string;
  scheme: "rfc9421" | "cavage" | "unsigned";
  /** Fedify's verdict: the key's owner when it verified, why not otherwise; absent when unsigned. */
  verdict?: { verified: true; keyId: string; owner: string } | { verified: false; reason: string };
  /** The answer of the host behind the front (502 when it could not be reached). */
  status: number;
}

/** The signature scheme of a request as it arrived, or `unsigned`. */
export function schemeOf(headers: IncomingHttpHeaders): CheckedRequest["scheme"] {
  if (headers["signature-input"] !== undefined) return "rfc9421";
  return headers.signature === undefined ? "unsigned" : "cavage";
}

/**
 * Fedify's own check of HTTP signatures, both schemes, with keys fetched from the signers' actor
 * documents by Fedify's document loader and cached as a Fedify server caches them (so a Delete signed
 * by an actor whose document is already gone verifies with the key seen before, as it would there).
 * Fedify 2.3.6's `verifyRequest` looks keys up in `publicKey` only; for an RFC 9421 key id the FEP-521a
 * Multikey is resolved with Fedify's `fetchKey(keyId, Multikey)` and handed over through the key cache,
 * so the key lookup and the signature check are both Fedify's.
 */
export class FedifyVerifier {
  private readonly documentLoader: DocumentLoader = getDocumentLoader({ allowPrivateAddress: true });
  private readonly keys = new Map<string, CryptographicKey>();
  private readonly keyCache: KeyCache = {
    get: async (keyId) => this.keys.get(keyId.href),
    set: async (keyId, key) => {
      if (key instanceof CryptographicKey) this.keys.set(keyId.href, key);
    },
  };

  async verify(receiver: string, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer) {
    const keyId = /keyid="([^"]+)"/.exec(String(headers["signature-input"] ?? ""))?.[1];
    if (keyId !== undefined && !this.keys.has(keyId)) {
      const { key } = await fetchKey(keyId, Multikey, {
        documentLoader: this.documentLoader,
        contextLoader: this.documentLoader,
      });
      if (key?.publicKey && key.controllerId) {
        this.keys.set(
          keyId,
          new CryptographicKey({ id: key.id, owner: key.controllerId, publicKey: key.publicKey }),
        );
      }
    }
    const fetchHeaders = new Headers();
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || name === "connection" || name === "transfer-encoding") continue;
      for (const one of Array.isArray(value) ? value : [value]) fetchHeaders.append(name, one);
    }
    const hasBody = method !== "GET" && method !== "HEAD";
    const result = await verifyRequestDetailed(
      new Request(`http://${receiver}${path}`, {
        method,
        headers: fetchHeaders,
        ...(hasBody ? { body: new Uint8Array(body) } : {}),
      }),
      { documentLoader: this.documentLoader, contextLoader: this.documentLoader, keyCache: this.keyCache },
    );
    if (result.verified) {
      return {
        verified: true as const,
        keyId: result.key.id?.href ?? "",
        owner: result.key.ownerId?.href ?? "",
      };
    }
    const reason = result.reason;
    const detail = reason.type === "noSignature" ? "" : ` ${reason.keyId?.href ?? ""}`;
    return { verified: false as const, reason: `${reason.type}${detail}` };
  }
}

/**
 * A reverse proxy standing for `receiver` as one provider (`sender`) reaches it through its host
 * mapping: every request is first checked by Fedify, then passed on unchanged to `targetPort`, and
 * its answer passed back. POSTs are also logged as `POST <path>` lines to `postLog` (the end-to-end
 * suite counts deliveries from it).
 */
export class VerifyingFront {
  readonly checked: CheckedRequest[] = [];
  port = 0;
  private server: Server | undefined;

  constructor(
    readonly sender: string,
    readonly receiver: string,
    private readonly verifier: FedifyVerifier,
    private readonly postLog?: string,
  ) {}

  /** Where requests go on; set once the host behind has a port. */
  targetPort = 0;

  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        void this.pass(req.method ?? "GET", req.url ?? "/", req.headers, Buffer.concat(chunks), res);
      });
    });
    this.port = await listenLocal(server);
    this.server = server;
    return this.port;
  }

  private async pass(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    res: import("node:http").ServerResponse,
  ): Promise<void> {
    const scheme = schemeOf(headers);
    const entry: CheckedRequest = {
      sender: this.sender,
      receiver: this.receiver,
      method,
      path,
      scheme,
      status: 0,
    };
    if (scheme !== "unsigned") {
      try {
        entry.verdict = await this.verifier.verify(this.receiver, method, path, headers, body);
      } catch (error) {
        entry.verdict = { verified: false, reason: `Fedify threw: ${String(error)}` };
      }
    }
    this.checked.push(entry);
    if (this.postLog && method === "POST") appendFileSync(this.postLog, `POST ${path.split("?", 1)[0]}\n`);
    const upstream = request(
      { host: "127.0.0.1", port: this.targetPort, method, path, headers },
      (answer) => {
        entry.status = answer.statusCode ?? 502;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    upstream.end(body);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeNow(server);
  }
}
