import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";
import { Agent, buildConnector } from "undici";
import { classifyAddress, isBlockedAddress } from "./address-policy.js";
import { type ConnectTarget, parseConnectTarget } from "./connect-to.js";
import { exchange } from "./exchange.js";

export interface OutboundHttpOptions {
  /** Production refuses every non-public address and forbids `connectTo`. */
  readonly production: boolean;
  /** Development-only host mapping (see `parseConnectTo`). */
  readonly connectTo?: ReadonlyMap<string, string>;
  readonly connectTimeoutMs?: number;
  /** Budget for the whole exchange: every redirect hop and the body download. */
  readonly totalTimeoutMs?: number;
  readonly maxResponseBytes?: number;
  readonly maxRedirects?: number;
  readonly userAgent?: string;
}

export type HttpMethod = "GET" | "POST";

export interface OutboundRequestInit {
  readonly method: HttpMethod;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /**
   * Headers for a redirect hop (for example a fresh HTTP signature over the new URL).
   * Without it, a hop keeps the original headers, minus credentials when the origin changes.
   */
  readonly headersForRedirect?: (url: string, method: HttpMethod) => Record<string, string>;
}

export type OutboundFailureReason =
  | "blockedAddress"
  | "badUrl"
  | "timeout"
  | "tooLarge"
  | "tooManyRedirects"
  | "connectError";

export type OutboundResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly body: Uint8Array;
      /** The final URL, after redirects. */
      readonly url: string;
    }
  | { readonly ok: false; readonly reason: OutboundFailureReason; readonly detail: string };

export type JsonResult =
  | { readonly ok: true; readonly status: number; readonly value: unknown; readonly url: string }
  | {
      readonly ok: false;
      readonly reason: OutboundFailureReason | "httpStatus" | "badJson";
      readonly detail: string;
      readonly status?: number;
    };

export interface OutboundHttp {
  /** One exchange; an HTTP error status is still `ok: true` (the caller decides). */
  request(url: string, init: OutboundRequestInit): Promise<OutboundResult>;
  /** GET a JSON document; a non-2xx status or an unparseable body is a failure. */
  fetchJson(url: string, headers: Readonly<Record<string, string>>): Promise<JsonResult>;
  close(): Promise<void>;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TOTAL_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;
export const DEFAULT_USER_AGENT = "mimi-provider/0.1 (+https://github.com/mimi-provider)";

/** Raised inside the connector; recognised by its code when undici hands it back. */
class BlockedAddressError extends Error {
  readonly code = "EMIMIBLOCKEDADDRESS";
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
// Headers that must not follow a redirect to another origin unless the caller re-creates them.
const credentialHeaders = new Set(["authorization", "cookie", "signature", "signature-input"]);

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * A `lookup` for net/tls connect that resolves normally and then drops every non-public
 * address, so a hostname cannot point a production connection at an internal target.
 */
function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, "", 0);
      return;
    }
    const allowed = addresses.filter((entry) => !isBlockedAddress(entry.address));
    if (allowed.length === 0) {
      const seen = addresses
        .map((entry) => `${entry.address} (${classifyAddress(entry.address)})`)
        .join(", ");
      callback(new BlockedAddressError(`${hostname} resolves only to non-public addresses: ${seen}`), "", 0);
      return;
    }
    const first = allowed[0];
    if (options.all === true) callback(null, allowed);
    else callback(null, first?.address ?? "", first?.family ?? 4);
  });
}

function findCause(error: unknown, predicate: (candidate: Error) => boolean): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (predicate(current)) return current;
    current = current.cause;
  }
  return undefined;
}

function errorCode(error: Error): string | undefined {
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

const timeoutCodes = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

function classifyError(error: unknown, deadlinePassed: boolean): OutboundResult {
  const blocked = findCause(error, (candidate) => candidate instanceof BlockedAddressError);
  if (blocked) return { ok: false, reason: "blockedAddress", detail: blocked.message };
  if (deadlinePassed) return { ok: false, reason: "timeout", detail: "total time budget exceeded" };
  const timedOut = findCause(error, (candidate) => timeoutCodes.has(errorCode(candidate) ?? ""));
  if (timedOut) return { ok: false, reason: "timeout", detail: timedOut.message };
  const message =
    error instanceof Error ? `${errorCode(error) ?? error.name}: ${error.message}` : String(error);
  return { ok: false, reason: "connectError", detail: message };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function buildHopHeaders(
  base: Readonly<Record<string, string>>,
  userAgent: string,
  options: { dropCredentials: boolean; dropBodyHeaders: boolean },
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    const lower = name.toLowerCase();
    // The Host header always follows the URL being fetched; undici derives it.
    if (lower === "host") continue;
    if (options.dropCredentials && credentialHeaders.has(lower)) continue;
    if (
      options.dropBodyHeaders &&
      (lower === "content-type" || lower === "digest" || lower === "content-digest")
    ) {
      continue;
    }
    headers[lower] = value;
  }
  headers["user-agent"] ??= userAgent;
  return headers;
}

type UrlCheck = { ok: true; url: URL } | { ok: false; reason: "badUrl" | "blockedAddress"; detail: string };

function checkUrl(raw: string, production: boolean): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "badUrl", detail: `not a URL: ${raw}` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, reason: "badUrl", detail: `scheme ${url.protocol} is not http(s)` };
  }
  if (url.username !== "" || url.password !== "") {
    return { ok: false, reason: "badUrl", detail: "URLs with credentials are refused" };
  }
  const host = stripBrackets(url.hostname);
  if (production && isIP(host) !== 0 && isBlockedAddress(host)) {
    return { ok: false, reason: "blockedAddress", detail: `${host} is ${classifyAddress(host)}` };
  }
  return { ok: true, url };
}

function resolveConnectTo(connectTo: ReadonlyMap<string, string>): Map<string, ConnectTarget> {
  const targets = new Map<string, ConnectTarget>();
  for (const [host, target] of connectTo) {
    const parsed = parseConnectTarget(target);
    if (typeof parsed === "string") throw new Error(`connectTo: ${parsed}`);
    targets.set(host.toLowerCase(), parsed);
  }
  return targets;
}

/**
 * Creates the one outbound HTTP client of a service. In production every connection target is
 * checked after DNS resolution, inside the connector, so neither a literal IP nor a hostname can
 * reach loopback, private, link-local or other internal addresses.
 */
export function createOutboundHttp(options: OutboundHttpOptions): OutboundHttp {
  const connectTo = resolveConnectTo(options.connectTo ?? new Map());
  if (options.production && connectTo.size > 0) {
    throw new Error("connectTo is a development-only setting and must be empty in production");
  }
  const production = options.production;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const totalTimeoutMs = options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;

  const baseConnector = buildConnector({
    timeout: connectTimeoutMs,
    ...(production ? { lookup: publicOnlyLookup } : {}),
  });
  const connector: buildConnector.connector = (connectOptions, callback) => {
    const host = stripBrackets(connectOptions.hostname).toLowerCase();
    const mapped = connectTo.get(host);
    if (mapped) {
      // Only the socket goes elsewhere: Host header and TLS server name stay those of the URL.
      baseConnector({ ...connectOptions, hostname: mapped.host, port: String(mapped.port) }, callback);
      return;
    }
    if (production && isIP(host) !== 0 && isBlockedAddress(host)) {
      callback(new BlockedAddressError(`${host} is ${classifyAddress(host)}`), null);
      return;
    }
    baseConnector(connectOptions, callback);
  };
  const agent = new Agent({
    connect: connector,
    headersTimeout: totalTimeoutMs,
    bodyTimeout: totalTimeoutMs,
  });

  async function request(url: string, init: OutboundRequestInit): Promise<OutboundResult> {
    let cancelHop: ((reason: Error) => void) | undefined;
    let deadlinePassed = false;
    // One timer for the whole exchange, every hop and body included.
    const timer = setTimeout(() => {
      deadlinePassed = true;
      cancelHop?.(new Error("total timeout"));
    }, totalTimeoutMs);
    let currentUrl = url;
    let method: HttpMethod = init.method;
    let body = init.body;
    let headers = buildHopHeaders(init.headers, userAgent, {
      dropCredentials: false,
      dropBodyHeaders: false,
    });
    try {
      for (let hop = 0; ; hop++) {
        if (deadlinePassed) return { ok: false, reason: "timeout", detail: "total time budget exceeded" };
        const checked = checkUrl(currentUrl, production);
        if (!checked.ok) return checked;
        const hopExchange = exchange(agent, {
          url: checked.url,
          method,
          headers,
          body,
          maxResponseBytes,
          redirectTarget: (status, responseHeaders) => {
            const location = responseHeaders.location;
            return redirectStatuses.has(status) && typeof location === "string" ? location : undefined;
          },
        });
        cancelHop = hopExchange.cancel;
        const answer = await hopExchange.result;
        cancelHop = undefined;
        if (answer.kind === "error") return classifyError(answer.error, deadlinePassed);
        if (answer.kind === "tooLarge") return { ok: false, reason: "tooLarge", detail: answer.detail };
        if (answer.kind === "redirect") {
          if (hop >= maxRedirects) {
            return { ok: false, reason: "tooManyRedirects", detail: `more than ${maxRedirects} redirects` };
          }
          let next: URL;
          try {
            next = new URL(answer.location, checked.url);
          } catch {
            return { ok: false, reason: "badUrl", detail: `unusable redirect location: ${answer.location}` };
          }
          const changesToGet =
            answer.status === 303 || (method === "POST" && answer.status !== 307 && answer.status !== 308);
          if (changesToGet) {
            method = "GET";
            body = undefined;
          }
          currentUrl = next.href;
          headers = init.headersForRedirect
            ? buildHopHeaders(init.headersForRedirect(currentUrl, method), userAgent, {
                dropCredentials: false,
                dropBodyHeaders: body === undefined,
              })
            : buildHopHeaders(init.headers, userAgent, {
                dropCredentials: next.origin !== new URL(url).origin,
                dropBodyHeaders: body === undefined,
              });
          continue;
        }
        return {
          ok: true,
          status: answer.status,
          headers: flattenHeaders(answer.headers),
          body: answer.body,
          url: currentUrl,
        };
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async function fetchJson(
    url: string,
    requestHeaders: Readonly<Record<string, string>>,
  ): Promise<JsonResult> {
    const result = await request(url, { method: "GET", headers: requestHeaders });
    if (!result.ok) return result;
    if (result.status < 200 || result.status > 299) {
      return {
        ok: false,
        reason: "httpStatus",
        status: result.status,
        detail: `HTTP ${result.status} from ${result.url}`,
      };
    }
    try {
      const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(result.body));
      return { ok: true, status: result.status, value, url: result.url };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        reason: "badJson",
        status: result.status,
        detail: `invalid JSON from ${result.url}: ${detail}`,
      };
    }
  }

  return {
    request,
    fetchJson,
    close: () => agent.close(),
  };
}
