import { ACTIVITY_CONTEXT, MLS_MEDIA_TYPE } from "@mimi/activitypub";
import { z } from "zod";
import { ciphersuiteName } from "./ciphersuites.js";

/** The wire documents of the claim endpoint (docs/protocol.md, "KeyPackages"). Pure builders and parsers. */

export interface ClaimDocumentItem {
  clientId: string;
  ciphersuite: number;
  content: Uint8Array;
  lastResort: boolean;
}

export interface ClaimDocumentUnavailable {
  clientId: string;
  reason: string;
  detail: string;
}

export interface KeyPackageObject {
  type: "KeyPackage";
  mediaType: typeof MLS_MEDIA_TYPE;
  encoding: "base64";
  content: string;
  ciphersuite: string;
  "mimi:client": string;
  "mimi:lastResort"?: true;
}

export interface ClaimCollection {
  "@context": typeof ACTIVITY_CONTEXT;
  type: "Collection";
  attributedTo: string;
  totalItems: number;
  items: KeyPackageObject[];
  "mimi:unavailable": Array<{ "mimi:client": string; "mimi:reason": string; summary: string }>;
}

export function keyPackageObject(item: ClaimDocumentItem): KeyPackageObject {
  return {
    type: "KeyPackage",
    mediaType: MLS_MEDIA_TYPE,
    encoding: "base64",
    content: Buffer.from(item.content).toString("base64"),
    ciphersuite: ciphersuiteName(item.ciphersuite),
    "mimi:client": item.clientId,
    ...(item.lastResort ? { "mimi:lastResort": true as const } : {}),
  };
}

/** The answer to a claim: one KeyPackage per client that had one, and why the others have none. */
export function claimCollection(
  actorId: string,
  items: readonly ClaimDocumentItem[],
  unavailable: readonly ClaimDocumentUnavailable[],
): ClaimCollection {
  return {
    "@context": ACTIVITY_CONTEXT,
    type: "Collection",
    attributedTo: actorId,
    totalItems: items.length,
    items: items.map(keyPackageObject),
    "mimi:unavailable": unavailable.map((entry) => ({
      "mimi:client": entry.clientId,
      "mimi:reason": entry.reason,
      summary: entry.detail,
    })),
  };
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

const keyPackageObjectSchema = z.object({
  type: z.literal("KeyPackage"),
  mediaType: z.literal(MLS_MEDIA_TYPE),
  encoding: z.literal("base64"),
  content: base64.min(1).max(64 * 1024),
  ciphersuite: z.union([z.string().min(1).max(100), z.number().int()]),
  "mimi:client": z.string().min(1).max(200),
  "mimi:lastResort": z.boolean().optional(),
});

const claimCollectionSchema = z.object({
  type: z.enum(["Collection", "OrderedCollection"]),
  items: z.array(z.unknown()).max(100).optional(),
  orderedItems: z.array(z.unknown()).max(100).optional(),
  "mimi:unavailable": z
    .array(
      z.object({ "mimi:client": z.string().max(200), "mimi:reason": z.string().max(100).optional() }).loose(),
    )
    .max(100)
    .optional(),
});

export interface ParsedRemoteItem {
  clientId: string;
  ciphersuite: string | number;
  content: Uint8Array;
  lastResort: boolean;
}

/**
 * Reads another provider's claim answer. Items that do not have the KeyPackage object shape are
 * reported back (by index) rather than failing the whole answer.
 */
export function parseClaimCollection(json: unknown):
  | {
      ok: true;
      items: ParsedRemoteItem[];
      malformed: number[];
      unavailable: Array<{ clientId: string; reason: string }>;
    }
  | { ok: false; detail: string } {
  const parsed = claimCollectionSchema.safeParse(json);
  if (!parsed.success) return { ok: false, detail: "the answer is not a Collection of KeyPackages" };
  const rawItems = parsed.data.items ?? parsed.data.orderedItems ?? [];
  const items: ParsedRemoteItem[] = [];
  const malformed: number[] = [];
  rawItems.forEach((raw, index) => {
    const item = keyPackageObjectSchema.safeParse(raw);
    if (!item.success) {
      malformed.push(index);
      return;
    }
    items.push({
      clientId: item.data["mimi:client"],
      ciphersuite: item.data.ciphersuite,
      content: new Uint8Array(Buffer.from(item.data.content, "base64")),
      lastResort: item.data["mimi:lastResort"] === true,
    });
  });
  const unavailable = (parsed.data["mimi:unavailable"] ?? []).map((entry) => ({
    clientId: entry["mimi:client"],
    reason: entry["mimi:reason"] ?? "unavailable",
  }));
  return { ok: true, items, malformed, unavailable };
}
