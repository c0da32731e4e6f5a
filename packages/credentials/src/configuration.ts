import { z } from "zod";
import { isValidDomain } from "./identifiers.js";
import * as x509 from "./x509-library.js";

/** Served at `https://<domain>/.well-known/mimi-configuration`. */
export const MIMI_CONFIGURATION_PATH = "/.well-known/mimi-configuration";

export interface MimiConfiguration {
  domain: string;
  /** MLS ciphersuite registry names, e.g. `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`. */
  ciphersuites: string[];
  /** PEM CA certificates that sign this domain's client credentials (several during a rotation). */
  credential_issuers: string[];
}

export type MimiConfigurationResult =
  | { ok: true; configuration: MimiConfiguration }
  | { ok: false; detail: string };

// Bounds keep a hostile document from costing much to process.
const MAX_CIPHERSUITES = 64;
const MAX_ISSUERS = 16;
const MAX_PEM_LENGTH = 16 * 1024;

const configurationSchema = z.object({
  domain: z.string().refine(isValidDomain, "not a lowercase host[:port]"),
  ciphersuites: z.array(z.string().min(1).max(128)).max(MAX_CIPHERSUITES),
  credential_issuers: z.array(z.string().max(MAX_PEM_LENGTH)).min(1).max(MAX_ISSUERS),
});

export function mimiConfigurationUrl(domain: string, scheme: "https" | "http" = "https"): string {
  return `${scheme}://${domain}${MIMI_CONFIGURATION_PATH}`;
}

/** Validates a fetched configuration document; every issuer must be one parseable PEM certificate. */
export function parseMimiConfiguration(json: unknown): MimiConfigurationResult {
  const parsed = configurationSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join(".") || "(root)" : "(root)";
    return { ok: false, detail: `invalid mimi-configuration at ${where}: ${issue?.message ?? "invalid"}` };
  }
  for (const [index, pem] of parsed.data.credential_issuers.entries()) {
    if (!isSingleCertificatePem(pem)) {
      return { ok: false, detail: `credential_issuers.${index} is not a PEM X.509 certificate` };
    }
  }
  return { ok: true, configuration: parsed.data };
}

export function buildMimiConfiguration(input: {
  domain: string;
  ciphersuites: readonly string[];
  issuersPem: readonly string[];
}): MimiConfiguration {
  return {
    domain: input.domain,
    ciphersuites: [...input.ciphersuites],
    credential_issuers: [...input.issuersPem],
  };
}

function isSingleCertificatePem(pem: string): boolean {
  if ((pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length !== 1) return false;
  try {
    new x509.X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
