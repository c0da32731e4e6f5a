import { originOf } from "./identifiers.js";

/** Who asks to read a channel's followers, GroupInfo or log. */
export type Reader =
  | { readonly kind: "server"; readonly signer: string }
  | { readonly kind: "localUser"; readonly actorUrl: string };

export type ReaderAccess = { readonly allow: true } | { readonly allow: false; readonly detail: string };

export type ChannelResource = "followers" | "groupInfo" | "log";

/** An actor that was removed from the channel, and when. */
export interface RemovedMember {
  readonly actorUrl: string;
  readonly removedAt: Date;
}

export interface ReaderBasis {
  readonly resource: ChannelResource;
  readonly followers: readonly string[];
  /** Actors removed from the channel (only consulted for the followers collection). */
  readonly removed: readonly RemovedMember[];
  readonly now: Date;
  /** How long after a removal the removed actor's server may still read the followers collection. */
  readonly removedReaderGraceSeconds: number;
}

/**
 * docs/channels.md, Reading a channel: a server may read when it hosts a member (the signer's origin
 * is the origin of some follower); a local user may read when they are a member. The followers
 * collection is also readable, for a bounded time, by a server whose member was removed: it checks
 * the collection before delivering the Remove to the removed user.
 */
export function decideReaderAccess(reader: Reader, basis: ReaderBasis): ReaderAccess {
  if (reader.kind === "localUser") {
    return basis.followers.includes(reader.actorUrl)
      ? { allow: true }
      : { allow: false, detail: "only members of the channel may read it" };
  }
  const signerOrigin = originOf(reader.signer);
  if (signerOrigin === undefined) {
    return { allow: false, detail: "only servers hosting a member of the channel may read it" };
  }
  if (basis.followers.some((follower) => originOf(follower) === signerOrigin)) return { allow: true };
  if (
    basis.resource === "followers" &&
    basis.removed.some(
      (removed) =>
        originOf(removed.actorUrl) === signerOrigin &&
        isWithinGrace(removed.removedAt, basis.now, basis.removedReaderGraceSeconds),
    )
  ) {
    return { allow: true };
  }
  return { allow: false, detail: "only servers hosting a member of the channel may read it" };
}

/** True while `now` is at most `graceSeconds` after `removedAt`; a grace of 0 is none. */
export function isWithinGrace(removedAt: Date, now: Date, graceSeconds: number): boolean {
  return graceSeconds > 0 && now.getTime() - removedAt.getTime() <= graceSeconds * 1000;
}
