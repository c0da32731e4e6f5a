import { z } from "zod";

/**
 * The operator's domain blocks: which names may be blocked, and how a configured list is read. A
 * block names a DNS name and covers its subdomains (`evil.test` blocks `x.evil.test`); the port
 * plays no part, so one rule covers every server of that host. Matching lives in `../reads.ts`,
 * which the other services load.
 */

/** A lower-case DNS name: labels of letters, digits and inner hyphens, 253 characters at most. */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export type DomainParse = { ok: true; domain: string } | { ok: false; detail: string };

/**
 * A domain as an operator or a user writes it: trimmed, lower-cased, one trailing dot dropped. An
 * IP address, a port, a scheme or a wildcard is refused: blocks name DNS names, and a name covers
 * its subdomains already.
 */
export function parseBlockableDomain(input: string): DomainParse {
  const domain = input.trim().toLowerCase().replace(/\.$/, "");
  if (domain.length === 0) return { ok: false, detail: "a domain must not be empty" };
  if (!DNS_NAME.test(domain)) {
    return {
      ok: false,
      detail: `${JSON.stringify(input)} is not a DNS name such as evil.example (no scheme, port, path or wildcard)`,
    };
  }
  if (/^[0-9.]+$/.test(domain)) return { ok: false, detail: `${domain} is an IP address, not a domain` };
  return { ok: true, domain };
}

/**
 * `MIMI_BLOCKED_DOMAINS`: a comma-separated list of domains. Every entry must parse; a malformed
 * one stops the boot with the entry named, rather than leaving a domain the operator meant to
 * block open.
 */
export function blockedDomainListSchema() {
  return z.string().transform((value, context) => {
    const domains = new Set<string>();
    for (const entry of value.split(",")) {
      if (entry.trim() === "") continue;
      const parsed = parseBlockableDomain(entry);
      if (!parsed.ok) {
        context.addIssue({ code: "custom", message: parsed.detail });
        return z.NEVER;
      }
      domains.add(parsed.domain);
    }
    return [...domains];
  });
}
