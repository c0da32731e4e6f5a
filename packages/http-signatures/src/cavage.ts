import type { KeyObject } from "node:crypto";
import {
  headerValue,
  type ReceivedRequest,
  type SignatureAlgorithm,
  verifyWithAlgorithm,
} from "./request.js";

/** Parameters of a draft-cavage `Signature` header. */
export interface CavageSignatureParams {
  readonly keyId: string;
  /** Lowercased; Mastodon treats a missing algorithm as hs2019. */
  readonly algorithm: string;
  /** Lowercased signed header names, in order. */
  readonly headers: readonly string[];
  readonly signature: Uint8Array;
  readonly created?: number;
  readonly expires?: number;
}

export type CavageParse = { ok: true; params: CavageSignatureParams } | { ok: false; detail: string };

/**
 * Parses `keyId="...",algorithm="...",headers="...",signature="..."` (commas may be followed by
 * spaces; `created`/`expires` may be bare integers).
 */
export function parseCavageSignature(text: string): CavageParse {
  const raw = new Map<string, string>();
  const pattern = /\s*([A-Za-z]+)=(?:"([^"]*)"|(\d+))\s*(,|$)/y;
  let position = 0;
  while (position < text.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) return { ok: false, detail: `bad parameter syntax at position ${position}` };
    const [whole, name = "", quoted, bare, comma] = match;
    if (raw.has(name)) return { ok: false, detail: `parameter ${name} repeated` };
    raw.set(name, quoted ?? bare ?? "");
    position += whole.length;
    if (comma === "" && position < text.length) return { ok: false, detail: "trailing characters" };
  }
  const keyId = raw.get("keyId");
  const signature = raw.get("signature");
  if (!keyId) return { ok: false, detail: "keyId is missing" };
  if (!signature) return { ok: false, detail: "signature is missing" };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return { ok: false, detail: "signature is not base64" };
  const algorithm = (raw.get("algorithm") ?? "hs2019").toLowerCase();
  const headersParam = raw.get("headers");
  const headers = (headersParam ?? (algorithm === "hs2019" ? "(created)" : "date"))
    .toLowerCase()
    .split(" ")
    .filter((name) => name !== "");
  const toSeconds = (value: string | undefined): number | undefined | null => {
    if (value === undefined) return undefined;
    return /^\d+$/.test(value) ? Number(value) : null;
  };
  const created = toSeconds(raw.get("created"));
  const expires = toSeconds(raw.get("expires"));
  if (created === null || expires === null) return { ok: false, detail: "created/expires must be integers" };
  return {
    ok: true,
    params: {
      keyId,
      algorithm,
      headers,
      signature: new Uint8Array(Buffer.from(signature, "base64")),
      ...(created === undefined ? {} : { created }),
      ...(expires === undefined ? {} : { expires }),
    },
  };
}

export type SigningStringResult = { ok: true; text: string } | { ok: false; detail: string };

/**
 * Rebuilds the string the sender signed. `requestTarget` is the path as received, or the path
 * without its query (older Mastodon versions signed that).
 */
export function buildCavageSigningString(
  params: CavageSignatureParams,
  request: Pick<ReceivedRequest, "method" | "headers">,
  requestTarget: string,
): SigningStringResult {
  const lines: string[] = [];
  for (const name of params.headers) {
    if (name === "(request-target)") {
      lines.push(`(request-target): ${request.method.toLowerCase()} ${requestTarget}`);
    } else if (name === "(created)" || name === "(expires)") {
      const value = name === "(created)" ? params.created : params.expires;
      if (params.algorithm !== "hs2019") return { ok: false, detail: `${name} is only valid with hs2019` };
      if (value === undefined) return { ok: false, detail: `${name} is signed but its parameter is missing` };
      lines.push(`${name}: ${value}`);
    } else if (name.startsWith("(")) {
      return { ok: false, detail: `unsupported pseudo-header ${name}` };
    } else {
      const value = headerValue(request.headers, name);
      if (value === undefined) return { ok: false, detail: `signed header ${name} is not in the request` };
      lines.push(`${name}: ${value}`);
    }
  }
  return { ok: true, text: lines.join("\n") };
}

/**
 * The crypto a cavage algorithm name may stand for with a given key, the likeliest first. hs2019
 * follows the key's type: Mastodon signs and verifies it from RSA keys as RSASSA-PKCS1-v1_5 with
 * SHA-256, while the cavage draft that named it meant RSASSA-PSS with SHA-512, which some servers
 * sign. Both are accepted; a bad signature costs one more RSA verification.
 */
export function cavageAlgorithmsFor(algorithm: string, publicKey: KeyObject): SignatureAlgorithm[] {
  if (algorithm === "rsa-sha256") return ["rsa-v1_5-sha256"];
  if (algorithm !== "hs2019") return [];
  if (publicKey.asymmetricKeyType === "ed25519") return ["ed25519"];
  if (publicKey.asymmetricKeyType === "rsa-pss") return ["rsa-pss-sha512"];
  return ["rsa-v1_5-sha256", "rsa-pss-sha512"];
}

export function verifyCavage(
  algorithm: string,
  publicKey: KeyObject,
  signingString: string,
  signature: Uint8Array,
) {
  const data = Buffer.from(signingString, "utf8");
  return cavageAlgorithmsFor(algorithm, publicKey).some((cryptoAlgorithm) =>
    verifyWithAlgorithm(cryptoAlgorithm, publicKey, data, signature),
  );
}
