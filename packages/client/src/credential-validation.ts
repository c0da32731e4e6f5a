import {
  createIssuersFetcher,
  createMimiAuthenticationService,
  MIMI_CONFIGURATION_PATH,
  type MimiAuthenticationService,
  readClientCertificate,
} from "@mimi/credentials";
import type { Credential } from "@mimi/mls";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import { fetchWithConnectTo } from "./connect-to-fetch.js";

/**
 * The MLS Authentication Service of the client: a credential is accepted when it chains to a CA that
 * the credential's own domain publishes in `/.well-known/mimi-configuration`. The home domain's
 * document is read from the home server; other domains' documents are the one thing the client
 * fetches from another provider directly (development host mappings from MIMI_DEV_CONNECT_TO apply).
 */
export interface CredentialValidation {
  service: MimiAuthenticationService;
  close(): Promise<void>;
}

export interface CredentialValidationOptions {
  homeDomain: string;
  homeServer: string;
  /** Used for the home server, and for every domain when set by tests. */
  fetch?: typeof fetch;
  /** Development host mapping (`a.test` -> `127.0.0.1:8081`). */
  connectTo: ReadonlyMap<string, string>;
  now?: () => Date;
}

export function createCredentialValidation(options: CredentialValidationOptions): CredentialValidation {
  const scheme = new URL(options.homeServer).protocol === "http:" ? "http" : "https";
  let outbound: OutboundHttp | undefined;
  const homeConfigurationUrl = `${scheme}://${options.homeDomain}${MIMI_CONFIGURATION_PATH}`;
  // The home server is reached as the API is: its URL may be a mapped development name.
  const homeFetch = fetchWithConnectTo(options.fetch ?? fetch, options.connectTo);

  async function fetchJson(url: string): Promise<unknown> {
    if (url === homeConfigurationUrl || options.fetch) {
      const target =
        url === homeConfigurationUrl
          ? `${options.homeServer.replace(/\/+$/, "")}${MIMI_CONFIGURATION_PATH}`
          : url;
      const fetcher = url === homeConfigurationUrl ? homeFetch : (options.fetch ?? fetch);
      const response = await fetcher(target, { headers: { accept: "application/json" } });
      if (!response.ok) throw new Error(`${target} answered ${response.status}`);
      return response.json();
    }
    outbound ??= createOutboundHttp({ production: false, connectTo: options.connectTo });
    const result = await outbound.request(url, { method: "GET", headers: { accept: "application/json" } });
    if (!result.ok) throw new Error(`${url}: ${result.reason} (${result.detail})`);
    if (result.status !== 200) throw new Error(`${url} answered ${result.status}`);
    return JSON.parse(Buffer.from(result.body).toString("utf8"));
  }

  // The client's clock (tests move it) decides when a remembered failure is looked up again.
  const now = options.now;
  const issuers = createIssuersFetcher({
    fetchJson,
    scheme,
    ...(now ? { clock: () => now().getTime() } : {}),
  });
  const service = createMimiAuthenticationService({
    issuersFor: issuers.issuersFor,
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    service,
    async close() {
      await outbound?.close();
    },
  };
}

/** The `acct:` URI and client id a credential's leaf names (structure only; MLS validated it already). */
export function credentialNames(credential: Credential): { acct: string; clientId: string } | undefined {
  if (credential.credentialType !== "x509") return undefined;
  const leaf = credential.certificates[0];
  if (!leaf) return undefined;
  const read = readClientCertificate(leaf);
  return read.ok ? { acct: read.contents.acct, clientId: read.contents.clientId } : undefined;
}
