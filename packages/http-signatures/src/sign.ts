import { type KeyObject, sign } from "node:crypto";
import { digestHeaderFor } from "./digest.js";

export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

export interface SigningKey {
  /** `<actor>#main-key` */
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/**
 * Signs an outgoing request the way Mastodon does (draft-cavage): the returned header set is the
 * caller's headers (lowercased) plus `host`, `date`, `digest` (when there is a body) and
 * `signature` over `(request-target) host date [digest] [content-type] [accept]`.
 * RSA keys sign as `rsa-sha256`; Ed25519 keys as `hs2019`.
 */
export function signRequest(
  request: OutgoingRequest,
  key: SigningKey,
  options: { now?: Date } = {},
): Record<string, string> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers.host = url.host;
  headers.date = (options.now ?? new Date()).toUTCString();
  if (request.body !== undefined) headers.digest = digestHeaderFor(request.body);
  else delete headers.digest;

  const signedNames = ["(request-target)", "host", "date"];
  if (headers.digest !== undefined) signedNames.push("digest");
  if (headers["content-type"] !== undefined) signedNames.push("content-type");
  if (headers.accept !== undefined) signedNames.push("accept");
  const requestTarget = `${request.method.toLowerCase()} ${url.pathname}${url.search}`;
  const signingString = signedNames
    .map((name) => (name === "(request-target)" ? `${name}: ${requestTarget}` : `${name}: ${headers[name]}`))
    .join("\n");

  const keyType = key.privateKey.asymmetricKeyType;
  let algorithm: string;
  let signature: Buffer;
  if (keyType === "rsa") {
    algorithm = "rsa-sha256";
    signature = sign("sha256", Buffer.from(signingString, "utf8"), key.privateKey);
  } else if (keyType === "ed25519") {
    algorithm = "hs2019";
    signature = sign(null, Buffer.from(signingString, "utf8"), key.privateKey);
  } else {
    throw new Error(`cannot sign with a ${keyType} key (RSA or Ed25519 only)`);
  }
  headers.signature =
    `keyId="${key.keyId}",algorithm="${algorithm}",headers="${signedNames.join(" ")}",` +
    `signature="${signature.toString("base64")}"`;
  return headers;
}
