import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { request } from "node:http";

/**
 * The foreign provider's HTTP side, from docs/protocol.md sections 3.1-3.5: draft-cavage signatures
 * with `rsa-sha256`, a SHA-256 `Digest` on every POST, and a host mapping (`a.test=127.0.0.1:port`)
 * standing for DNS, as the project's own MIMI_DEV_CONNECT_TO does.
 */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class HostMap {
  private readonly hosts = new Map<string, { host: string; port: number }>();

  constructor(mapping: string) {
    for (const entry of mapping.split(",")) {
      const [name, target] = entry.split("=");
      const [host, port] = (target ?? "").split(":");
      if (name && host && port) this.hosts.set(name, { host, port: Number(port) });
    }
  }

  /** Sends a request for `url` to where the mapping says its host is; `Host` stays the public one. */
  send(
    url: string,
    options: { method: string; headers: Record<string, string>; body?: string },
  ): Promise<HttpAnswer> {
    const target = new URL(url);
    const address = this.hosts.get(target.host);
    if (!address) return Promise.reject(new Error(`no mapping for ${target.host}`));
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: address.host,
          port: address.port,
          method: options.method,
          path: `${target.pathname}${target.search}`,
          headers: { host: target.host, ...options.headers },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("end", () => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(incoming.headers))
              if (typeof value === "string") headers[name] = value;
            resolve({
              status: incoming.statusCode ?? 0,
              headers,
              body: Buffer.concat(chunks).toString("utf8"),
            });
          });
          incoming.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end(options.body);
    });
  }

  /** A signed GET (section 3.1: `(request-target) host date accept`). */
  signedGet(url: string, key: SigningKey): Promise<HttpAnswer> {
    const headers = signedHeaders("GET", url, key, { accept: "application/activity+json" });
    return this.send(url, { method: "GET", headers });
  }

  /** A signed POST of JSON (section 3.1: `(request-target) host date digest content-type`). */
  signedPost(
    url: string,
    key: SigningKey,
    body: unknown,
    contentType = "application/activity+json",
    algorithm: CavageAlgorithm = "rsa-sha256",
  ): Promise<HttpAnswer> {
    const text = JSON.stringify(body);
    const headers = signedHeaders("POST", url, key, { "content-type": contentType }, text, algorithm);
    return this.send(url, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(text)) },
      body: text,
    });
  }
}

/** Both name RSASSA-PKCS1-v1_5 with SHA-256 for an RSA key (section 3.2). */
export type CavageAlgorithm = "rsa-sha256" | "hs2019";

export function digestOf(body: string | Buffer): string {
  return `SHA-256=${createHash("sha256").update(body).digest("base64")}`;
}

function signingString(method: string, url: URL, names: string[], headers: Record<string, string>): string {
  return names
    .map((name) =>
      name === "(request-target)"
        ? `(request-target): ${method.toLowerCase()} ${url.pathname}${url.search}`
        : `${name}: ${headers[name] ?? ""}`,
    )
    .join("\n");
}

export function signedHeaders(
  method: string,
  url: string,
  key: SigningKey,
  extra: Record<string, string>,
  body?: string,
  algorithm: CavageAlgorithm = "rsa-sha256",
  now: Date = new Date(),
): Record<string, string> {
  const target = new URL(url);
  const headers: Record<string, string> = { host: target.host, date: now.toUTCString(), ...extra };
  if (body !== undefined) headers.digest = digestOf(body);
  const names = [
    "(request-target)",
    "host",
    "date",
    ...(body === undefined ? [] : ["digest"]),
    ...Object.keys(extra),
  ];
  const signature = sign(
    "sha256",
    Buffer.from(signingString(method, target, names, headers)),
    key.privateKey,
  );
  headers.signature = `keyId="${key.keyId}",algorithm="${algorithm}",headers="${names.join(" ")}",signature="${signature.toString("base64")}"`;
  return headers;
}

export type Verified =
  | { ok: true; signer: string; keyId: string; signedHeaders: string[] }
  | { ok: false; detail: string };

/**
 * Checks a draft-cavage signature the way section 3.2 and 3.5 describe a receiver: the covered
 * headers include `(request-target)`, `host` and `date` (and `digest`, matching the body, on a POST);
 * the key is fetched from the key id without its fragment, signed as our instance actor, and accepted
 * only when the document answering is on the key id's origin, is the actor that owns the key.
 */
export async function verifyRequest(
  hosts: HostMap,
  fetchKey: SigningKey,
  request: {
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
    body?: Buffer;
  },
): Promise<Verified> {
  const header = request.headers.signature;
  if (typeof header !== "string") return { ok: false, detail: "no Signature header" };
  const params = new Map<string, string>();
  for (const match of header.matchAll(/([a-zA-Z]+)="([^"]*)"/g)) params.set(match[1] ?? "", match[2] ?? "");
  const keyId = params.get("keyId");
  const signature = params.get("signature");
  const names = (params.get("headers") ?? "").split(" ");
  if (!keyId || !signature) return { ok: false, detail: "keyId or signature missing" };
  if (!["rsa-sha256", "hs2019", undefined].includes(params.get("algorithm")))
    return { ok: false, detail: `algorithm ${params.get("algorithm")}` };
  for (const required of ["(request-target)", "host", "date"])
    if (!names.includes(required)) return { ok: false, detail: `${required} not signed` };
  if (request.method === "POST") {
    if (!names.includes("digest")) return { ok: false, detail: "digest not signed" };
    if (request.headers.digest !== digestOf(request.body ?? Buffer.alloc(0)))
      return { ok: false, detail: "digest does not match the body" };
  }
  const date = Date.parse(String(request.headers.date));
  if (!(Math.abs(Date.now() - date) < 300_000)) return { ok: false, detail: "date out of window" };
  const flat: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (name !== "(request-target)" && typeof value !== "string")
      return { ok: false, detail: `${name} absent` };
    if (typeof value === "string") flat[name] = value;
  }
  const url = new URL(request.url, `http://${flat.host}`);
  const documentUrl = keyId.split("#")[0] ?? keyId;
  const answer = await hosts.signedGet(documentUrl, fetchKey);
  if (answer.status !== 200) return { ok: false, detail: `key document ${documentUrl}: ${answer.status}` };
  const document = JSON.parse(answer.body) as {
    id?: string;
    publicKey?: { id?: string; owner?: string; publicKeyPem?: string };
  };
  if (document.id !== documentUrl || new URL(documentUrl).origin !== new URL(keyId).origin)
    return { ok: false, detail: "key document not on the key id's origin" };
  const key = document.publicKey;
  if (key?.id !== keyId || (key.owner !== undefined && key.owner !== document.id) || !key.publicKeyPem)
    return { ok: false, detail: "key document does not hold the key" };
  const valid = verify(
    "sha256",
    Buffer.from(signingString(request.method, url, names, flat)),
    createPublicKey(key.publicKeyPem),
    Buffer.from(signature, "base64"),
  );
  return valid
    ? { ok: true, signer: document.id, keyId, signedHeaders: names }
    : { ok: false, detail: "signature does not verify" };
}

/** The `keyId` and `headers` parameters of a draft-cavage `Signature` header, when there is one. */
export function signatureParameters(header: string | undefined): { keyId?: string; headers?: string } {
  if (header === undefined) return {};
  const found: { keyId?: string; headers?: string } = {};
  for (const match of header.matchAll(/(keyId|headers)="([^"]*)"/g))
    if (match[1] === "keyId" || match[1] === "headers") found[match[1]] = match[2];
  return found;
}
