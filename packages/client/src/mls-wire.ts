import {
  acceptAnyCredential,
  decodeKeyPackage,
  decodeMessage,
  encodeKeyPackage,
  type KeyPackage,
  publicGroupFromGroupInfo,
} from "@mimi/mls";
import { credentialNames } from "./credential-validation.js";

/** Byte helpers and read-only looks into MLS messages the client needs beyond @mimi/mls. Pure. */
export const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
export const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

/** MLSMessage header of a KeyPackage: version mls10 (1), wire format mls_key_package (5). */
const KEY_PACKAGE_HEADER = [0x00, 0x01, 0x00, 0x05];

/**
 * A KeyPackage as uploaded and carried in KeyPackage objects: framed as an MLSMessage, the form
 * @mimi/mls `validateKeyPackage` (used by the directory) reads.
 */
export function keyPackageWireBytes(keyPackage: KeyPackage): Uint8Array {
  return encodeKeyPackage(keyPackage);
}

/** Reads a KeyPackage framed as an MLSMessage or, leniently, bare (the TLS KeyPackage alone). */
export function readKeyPackageBytes(
  bytes: Uint8Array,
): { ok: true; keyPackage: KeyPackage } | { ok: false; detail: string } {
  const framed = KEY_PACKAGE_HEADER.every((byte, i) => bytes[i] === byte);
  const decoded = decodeKeyPackage(framed ? bytes : new Uint8Array([...KEY_PACKAGE_HEADER, ...bytes]));
  return decoded.ok ? decoded : { ok: false, detail: decoded.detail };
}

/** The channel id (base64url group id) at the end of a channel URL, if it looks like one. */
export function channelIdOfUrl(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const id = decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
}

/** The accounts (`acct:` URIs) whose clients an encoded commit (PublicMessage) adds. */
export function acctsAddedBy(commitMessage: Uint8Array): string[] {
  const decoded = decodeMessage(commitMessage);
  if (!decoded.ok || decoded.message.wireformat !== "mls_public_message") return [];
  const content = decoded.message.publicMessage.content;
  if (content.contentType !== "commit") return [];
  const accts = new Set<string>();
  for (const entry of content.commit.proposals) {
    if (entry.proposalOrRefType !== "proposal" || entry.proposal.proposalType !== "add") continue;
    const names = credentialNames(entry.proposal.add.keyPackage.leafNode.credential);
    if (names) accts.add(names.acct);
  }
  return [...accts];
}

/** The account whose client signed a GroupInfo (for a channel's creation: the creator). */
export async function groupInfoSignerAcct(groupInfo: Uint8Array): Promise<string | undefined> {
  // Only the structure is read here; the channel's server and the Welcome processing verify.
  const read = await publicGroupFromGroupInfo(groupInfo, { validateCredential: acceptAnyCredential });
  return read.ok ? credentialNames(read.signer.credential)?.acct : undefined;
}
