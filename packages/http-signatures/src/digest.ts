import { createHash } from "node:crypto";
import { parseDictionary, StructuredFieldError } from "./structured-fields.js";

export type DigestCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "missingDigest" | "digestMismatch"; readonly detail: string };

function hashBase64(algorithm: "sha256" | "sha512", body: Uint8Array | string): string {
  // A string is hashed as its UTF-8 bytes without copying it into a Uint8Array first.
  return createHash(algorithm).update(body).digest("base64");
}

/**
 * The SHA-256 of the body signed last: a delivery's body goes to every inbox of its audience, signed
 * once per destination, so consecutive signatures mostly hash the same text. Only string bodies are
 * remembered (a Uint8Array may change after it was hashed); a body of another content is hashed anew.
 */
let lastSha256: { body: string; base64: string } | undefined;

function sha256Base64(body: Uint8Array | string): string {
  if (typeof body !== "string") return hashBase64("sha256", body);
  if (lastSha256?.body === body) return lastSha256.base64;
  const base64 = hashBase64("sha256", body);
  lastSha256 = { body, base64 };
  return base64;
}

export function toBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

/** The legacy `Digest` header value Mastodon sends: `SHA-256=<base64>`. */
export function digestHeaderFor(body: Uint8Array | string): string {
  return `SHA-256=${sha256Base64(body)}`;
}

/** The RFC 9530 `Content-Digest` value: `sha-256=:<base64>:`. */
export function contentDigestHeaderFor(body: Uint8Array | string): string {
  return `sha-256=:${sha256Base64(body)}:`;
}

const legacyAlgorithms: Record<string, "sha256" | "sha512"> = { "sha-256": "sha256", "sha-512": "sha512" };

/** Checks a legacy `Digest` header (RFC 3230 form) against the body; SHA-256 or SHA-512 required. */
export function checkDigestHeader(value: string, body: Uint8Array): DigestCheck {
  const offered = value.split(",").map((part) => {
    const separator = part.indexOf("=");
    return separator < 0
      ? { algorithm: part.trim().toLowerCase(), digest: "" }
      : {
          algorithm: part.slice(0, separator).trim().toLowerCase(),
          digest: part.slice(separator + 1).trim(),
        };
  });
  const supported = offered.filter((entry) => legacyAlgorithms[entry.algorithm] !== undefined);
  if (supported.length === 0) {
    return {
      ok: false,
      reason: "missingDigest",
      detail: `Digest offers no SHA-256 or SHA-512 value (offered: ${offered.map((entry) => entry.algorithm).join(", ")})`,
    };
  }
  for (const entry of supported) {
    const algorithm = legacyAlgorithms[entry.algorithm] ?? "sha256";
    const computed = hashBase64(algorithm, body);
    if (computed !== entry.digest) {
      return {
        ok: false,
        reason: "digestMismatch",
        detail: `${entry.algorithm} digest ${entry.digest} != computed ${computed}`,
      };
    }
  }
  return { ok: true };
}

/** Checks an RFC 9530 `Content-Digest` header against the body; sha-256 or sha-512 required. */
export function checkContentDigest(value: string, body: Uint8Array): DigestCheck {
  let members: ReturnType<typeof parseDictionary>;
  try {
    members = parseDictionary(value);
  } catch (error) {
    const detail = error instanceof StructuredFieldError ? error.message : String(error);
    return { ok: false, reason: "digestMismatch", detail: `Content-Digest does not parse: ${detail}` };
  }
  let checked = 0;
  for (const [name, member] of members) {
    const algorithm = legacyAlgorithms[name];
    if (algorithm === undefined) continue;
    if (member.kind !== "item" || member.value.type !== "bytes") {
      return { ok: false, reason: "digestMismatch", detail: `Content-Digest ${name} is not a byte sequence` };
    }
    const given = Buffer.from(member.value.value).toString("base64");
    const computed = hashBase64(algorithm, body);
    if (given !== computed) {
      return {
        ok: false,
        reason: "digestMismatch",
        detail: `${name} digest ${given} != computed ${computed}`,
      };
    }
    checked++;
  }
  if (checked === 0) {
    return {
      ok: false,
      reason: "missingDigest",
      detail: `Content-Digest offers no sha-256 or sha-512 value`,
    };
  }
  return { ok: true };
}
