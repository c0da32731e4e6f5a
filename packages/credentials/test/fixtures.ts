import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createDomainCa, type DomainCa, type IssuersFor, loadDomainCa } from "../src/index.js";

export interface ClientKeyPair {
  privateKey: KeyObject;
  /** Raw 32-byte Ed25519, as MLS carries it. */
  publicKey: Uint8Array;
}

export function generateClientKey(): ClientKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  return { privateKey, publicKey: new Uint8Array(Buffer.from(jwk.x ?? "", "base64url")) };
}

export async function newDomainCa(domain: string, options?: { now?: Date; validityDays?: number }) {
  const material = await createDomainCa(domain, options);
  return { material, ca: await loadDomainCa(material) };
}

/** An in-memory stand-in for the fetched `credential_issuers` of each domain. */
export function staticIssuers(issuersByDomain: Record<string, DomainCa[]>): IssuersFor {
  return async (domain) => {
    const issuers = issuersByDomain[domain];
    if (!issuers) return { ok: false, detail: `no configuration for ${domain}` };
    return { ok: true, issuersPem: issuers.map((ca) => ca.certificatePem) };
  };
}
