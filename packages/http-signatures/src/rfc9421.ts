import { headerValue, type ReceivedRequest, type SignatureAlgorithm } from "./request.js";
import {
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  parseDictionary,
  parseItemField,
  parseListField,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeList,
} from "./structured-fields.js";

/** One labelled signature taken from `Signature-Input` and `Signature`. */
export interface MessageSignature {
  readonly label: string;
  /** The covered components, as parsed from Signature-Input. */
  readonly input: InnerList;
  readonly signature: Uint8Array;
  /**
   * keyid, created, expires and alg are read from `input`'s own parameters, the ones the signature
   * base covers ("@signature-params"); parameters attached to the Signature member are ignored.
   */
  readonly keyId?: string;
  readonly created?: number;
  readonly expires?: number;
  readonly alg?: string;
}

export const supportedRfc9421Algorithms: readonly SignatureAlgorithm[] = [
  "rsa-v1_5-sha256",
  "rsa-pss-sha512",
  "ed25519",
];

function param(list: InnerList, name: string): BareItem | undefined {
  return list.params.find(([key]) => key === name)?.[1];
}

/** Pairs every Signature-Input member with its Signature value; unpaired labels are skipped. */
export function collectMessageSignatures(
  inputs: Dictionary,
  signatures: Dictionary,
): { ok: true; signatures: MessageSignature[] } | { ok: false; detail: string } {
  const collected: MessageSignature[] = [];
  for (const [label, input] of inputs) {
    const value = signatures.get(label);
    if (value === undefined) continue;
    if (input.kind !== "innerList")
      return { ok: false, detail: `Signature-Input ${label} is not an inner list` };
    if (value.kind !== "item" || value.value.type !== "bytes") {
      return { ok: false, detail: `Signature ${label} is not a byte sequence` };
    }
    const keyId = param(input, "keyid");
    const created = param(input, "created");
    const expires = param(input, "expires");
    const alg = param(input, "alg");
    collected.push({
      label,
      input,
      signature: value.value.value,
      ...(keyId?.type === "string" ? { keyId: keyId.value } : {}),
      ...(created?.type === "integer" ? { created: created.value } : {}),
      ...(expires?.type === "integer" ? { expires: expires.value } : {}),
      ...(alg?.type === "string" ? { alg: alg.value } : {}),
    });
  }
  if (collected.length === 0)
    return { ok: false, detail: "no label appears in both Signature-Input and Signature" };
  return { ok: true, signatures: collected };
}

/** Where the request was addressed: needed for @target-uri, @authority and @scheme. */
export interface RequestContext {
  readonly scheme: "https" | "http";
}

export type SignatureBaseResult = { ok: true; base: string } | { ok: false; detail: string };

function splitPath(path: string): { pathname: string; query: string } {
  const mark = path.indexOf("?");
  const pathname = mark < 0 ? path : path.slice(0, mark);
  return { pathname: pathname === "" ? "/" : pathname, query: mark < 0 ? "" : path.slice(mark + 1) };
}

function authorityOf(
  request: Pick<ReceivedRequest, "headers">,
  scheme: "https" | "http",
): string | undefined {
  const host = headerValue(request.headers, "host")?.toLowerCase();
  if (host === undefined || host === "") return undefined;
  const defaultPort = scheme === "https" ? ":443" : ":80";
  return host.endsWith(defaultPort) ? host.slice(0, -defaultPort.length) : host;
}

function queryParamValue(query: string, name: string): string | undefined {
  const values = new URLSearchParams(query).getAll(name);
  // RFC 9421 2.2.8: a repeated parameter name cannot be covered unambiguously.
  if (values.length !== 1) return undefined;
  return encodeURIComponent(values[0] ?? "");
}

function componentValue(
  component: Item,
  request: Pick<ReceivedRequest, "method" | "path" | "headers">,
  context: RequestContext,
): string | { error: string } {
  if (component.value.type !== "string") return { error: "component identifiers must be strings" };
  const name = component.value.value;
  const { pathname, query } = splitPath(request.path);
  // `sf` (RFC 9421 2.1.1): a header field re-serialised strictly as the structured field it is.
  const allowedParams = name === "@query-param" ? ["name"] : name.startsWith("@") ? [] : ["sf"];
  const unexpected = component.params.find(([key]) => !allowedParams.includes(key));
  if (unexpected) return { error: `component parameter ;${unexpected[0]} is not supported` };
  switch (name) {
    case "@method":
      return request.method.toUpperCase();
    case "@target-uri": {
      const authority = authorityOf(request, context.scheme);
      if (authority === undefined) return { error: "no Host header for @target-uri" };
      return `${context.scheme}://${authority}${request.path}`;
    }
    case "@authority":
      return authorityOf(request, context.scheme) ?? { error: "no Host header for @authority" };
    case "@scheme":
      return context.scheme;
    case "@request-target":
      return request.path;
    case "@path":
      return pathname;
    case "@query":
      return `?${query}`;
    case "@query-param": {
      const nameParam = component.params.find(([key]) => key === "name")?.[1];
      if (nameParam?.type !== "string") return { error: "@query-param needs a string name parameter" };
      return (
        queryParamValue(query, nameParam.value) ?? {
          error: `query parameter ${nameParam.value} absent or repeated`,
        }
      );
    }
    default: {
      if (name.startsWith("@")) return { error: `derived component ${name} is not available on a request` };
      if (name !== name.toLowerCase()) return { error: `field name ${name} must be lowercase` };
      const value = headerValue(request.headers, name);
      if (value === undefined) return { error: `covered field ${name} is not in the request` };
      const sf = component.params.find(([key]) => key === "sf")?.[1];
      if (sf === undefined) return value;
      if (sf.type !== "boolean" || !sf.value) return { error: "the sf parameter must be true" };
      return strictlySerialized(name, value);
    }
  }
}

/**
 * The structured-field type of the header fields a signature may cover with `;sf` (RFC 8941 and the
 * HTTP retrofit of existing fields to it). A field not listed here cannot be re-serialised, so a
 * signature covering it with `;sf` is refused.
 */
const STRUCTURED_FIELD_TYPES: Readonly<Record<string, "item" | "list" | "dictionary">> = {
  "content-type": "item",
  "content-length": "item",
  accept: "list",
  "accept-encoding": "list",
  "content-digest": "dictionary",
  "repr-digest": "dictionary",
  "want-content-digest": "dictionary",
};

/** A field value parsed as its structured type and serialised strictly (RFC 8941 section 4.1). */
function strictlySerialized(name: string, value: string): string | { error: string } {
  const type = STRUCTURED_FIELD_TYPES[name];
  if (type === undefined) return { error: `${name} is not a structured field this verifier knows (;sf)` };
  try {
    if (type === "item") return serializeItem(parseItemField(value));
    if (type === "list") return serializeList(parseListField(value));
    return serializeDictionary(parseDictionary(value));
  } catch (error) {
    return {
      error: `${name} is not a valid structured ${type}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** Builds the RFC 9421 signature base for one labelled signature over a received request. */
export function buildRfc9421SignatureBase(
  input: InnerList,
  request: Pick<ReceivedRequest, "method" | "path" | "headers">,
  context: RequestContext,
): SignatureBaseResult {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const component of input.items) {
    const identifier = serializeItem(component);
    if (seen.has(identifier)) return { ok: false, detail: `component ${identifier} is covered twice` };
    seen.add(identifier);
    const value = componentValue(component, request, context);
    if (typeof value !== "string") return { ok: false, detail: value.error };
    lines.push(`${identifier}: ${value}`);
  }
  lines.push(`"@signature-params": ${serializeInnerList(input)}`);
  return { ok: true, base: lines.join("\n") };
}

/** Names of the covered components (strings only), for policy checks. */
export function coveredNames(input: InnerList): string[] {
  return input.items.flatMap((item) => (item.value.type === "string" ? [item.value.value] : []));
}
