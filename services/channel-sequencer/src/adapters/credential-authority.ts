import {
  type CredentialVerification,
  createIssuersFetcher,
  createMimiAuthenticationService,
  type IssuersFor,
} from "@mimi/credentials";
import { trustedIssuersPem } from "@mimi/identity/reads";
import type { Credential } from "@mimi/mls";
import type { OutboundHttp } from "@mimi/outbound-http";
import type { SqlExecutor } from "@mimi/store";

/** A credential's verdict: the acct it names, or why not (`transient`: worth retrying later). */
export type CredentialCheck =
  | { readonly ok: true; readonly acct: string }
  | { readonly ok: false; readonly transient: boolean; readonly detail: string };

/** The MLS Authentication Service as the sequencer uses it. */
export interface CredentialAuthority {
  /** Is the credential valid and bound to this signature key? */
  verify(credential: Credential, signaturePublicKey: Uint8Array): Promise<CredentialCheck>;
  /** The acct a credential names (its chain checked; use on leaves MLS has already validated). */
  identify(credential: Credential): Promise<CredentialCheck>;
}

/** Wraps @mimi/credentials' authentication service: x509 credentials issued by the acct's domain. */
export function createCredentialAuthority(options: {
  issuersFor: IssuersFor;
  now?: () => Date;
}): CredentialAuthority {
  const service = createMimiAuthenticationService({
    issuersFor: options.issuersFor,
    ...(options.now ? { now: options.now } : {}),
  });
  const check = (verification: CredentialVerification): CredentialCheck =>
    verification.ok
      ? { ok: true, acct: verification.acct }
      : {
          ok: false,
          transient: verification.reason === "issuersUnavailable",
          detail: `${verification.reason}: ${verification.detail}`,
        };
  return {
    verify: async (credential, key) => check(await service.verify(credential, key)),
    identify: async (credential) => check(await service.identify(credential)),
  };
}

/**
 * Issuers of client credentials: this provider's own CAs through identity's read module (the same list
 * identity publishes at /.well-known/mimi-configuration), other domains' are fetched and cached.
 */
export function providerIssuers(options: {
  sql: SqlExecutor;
  domain: string;
  http: OutboundHttp;
  connectTo: ReadonlyMap<string, string>;
}): IssuersFor {
  const fetchJson = async (url: string) => {
    const result = await options.http.fetchJson(url, { accept: "application/json" });
    if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
    return result.value;
  };
  const secure = createIssuersFetcher({ fetchJson });
  // Development host mappings (MIMI_DEV_CONNECT_TO) speak plain HTTP.
  const plain = createIssuersFetcher({ fetchJson, scheme: "http" });
  return async (domain, lookup) => {
    if (domain === options.domain) return { ok: true, issuersPem: await trustedIssuersPem(options.sql) };
    return (options.connectTo.has(domain) ? plain : secure).issuersFor(domain, lookup);
  };
}
