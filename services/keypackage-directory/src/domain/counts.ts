import { ciphersuiteName } from "./ciphersuites.js";

/** Per-client counts of what can still be claimed, from the stored summaries. Pure. */

export interface SummaryRow {
  clientId: string;
  ciphersuite: number;
  id: string;
  lastResort: boolean;
}

export interface ClientCounts {
  clientId: string;
  /** Single-use KeyPackages not yet claimed (all suites). */
  available: number;
  hasLastResort: boolean;
  /** Single-use KeyPackages per ciphersuite name. */
  ciphersuites: Record<string, number>;
  /** Ids of the single-use KeyPackages, oldest first. */
  keyPackageIds: string[];
}

export function countsByClient(clientIds: readonly string[], rows: readonly SummaryRow[]): ClientCounts[] {
  const byClient = new Map<string, ClientCounts>(
    clientIds.map((clientId) => [
      clientId,
      { clientId, available: 0, hasLastResort: false, ciphersuites: {}, keyPackageIds: [] },
    ]),
  );
  for (const row of rows) {
    const counts = byClient.get(row.clientId);
    if (!counts) continue; // a removed client's KeyPackages are never served
    if (row.lastResort) {
      counts.hasLastResort = true;
      continue;
    }
    counts.available += 1;
    const name = ciphersuiteName(row.ciphersuite);
    counts.ciphersuites[name] = (counts.ciphersuites[name] ?? 0) + 1;
    counts.keyPackageIds.push(row.id);
  }
  return [...byClient.values()];
}
