import { originOf } from "./identifiers.js";

/** Who asks to read a channel's followers, GroupInfo or log. */
export type Reader =
  | { readonly kind: "server"; readonly signer: string }
  | { readonly kind: "localUser"; readonly actorUrl: string };

export type ReaderAccess = { readonly allow: true } | { readonly allow: false; readonly detail: string };

/**
 * docs/channels.md, Reading a channel: a server may read when it hosts a member (the signer's origin
 * is the origin of some follower); a local user may read when they are a member.
 */
export function decideReaderAccess(reader: Reader, followers: readonly string[]): ReaderAccess {
  if (reader.kind === "localUser") {
    return followers.includes(reader.actorUrl)
      ? { allow: true }
      : { allow: false, detail: "only members of the channel may read it" };
  }
  const signerOrigin = originOf(reader.signer);
  if (signerOrigin !== undefined && followers.some((follower) => originOf(follower) === signerOrigin)) {
    return { allow: true };
  }
  return { allow: false, detail: "only servers hosting a member of the channel may read it" };
}
