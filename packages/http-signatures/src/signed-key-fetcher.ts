import type { OutboundHttp } from "@mimi/outbound-http";
import type { KeyDocumentFetcher } from "./keys.js";
import type { SigningKey } from "./sign.js";
import { createSignedGet, type SignedGet, signedGetFailureDetail } from "./signed-get.js";

/**
 * Key documents for signature verification, fetched through a signed GET (servers in "authorized
 * fetch" mode refuse unsigned ones). The GET follows redirects, so the document is only worth the
 * URL that answered, which the result names; `parseKeyDocument` binds the document to it.
 */
export function keyDocumentFetcher(get: SignedGet): KeyDocumentFetcher {
  return async (url) => {
    const result = await get(url);
    if (result.kind !== "document") return { ok: false, detail: signedGetFailureDetail(result) };
    return { ok: true, document: result.document, url: result.url };
  };
}

/** `keyDocumentFetcher` over a GET signed by one fixed key (the instance actor's). */
export function createSignedKeyFetcher(
  http: OutboundHttp,
  instanceKey: SigningKey,
  options: { now?: () => Date } = {},
): KeyDocumentFetcher {
  return keyDocumentFetcher(createSignedGet(http, async () => instanceKey, options));
}
