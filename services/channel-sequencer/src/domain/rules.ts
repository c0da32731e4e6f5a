/**
 * The sequencing rules of docs/channels.md that need no I/O: names, the epoch window, and how a
 * commit's adds and removes must line up with the activity that carries it.
 */

/** One MLS leaf of a channel and the actor its credential names. */
export interface ChannelMember {
  readonly leafIndex: number;
  readonly actorUrl: string;
  readonly acct: string;
}

export type RuleCheck<T = object> = ({ ok: true } & T) | { ok: false; summary: string };

export const MAX_CHANNEL_NAME_LENGTH = 100;

/**
 * Characters a name shown on one line must not hold: C0 and C1 controls, DEL, line and paragraph
 * separators, and the bidi marks, embeddings, overrides and isolates that reorder what follows.
 */
const UNPRINTABLE_IN_NAMES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** A channel name: a string of 1-100 characters (code points), not only white space, one printable line. */
export function checkChannelName(name: unknown): RuleCheck<{ name: string }> {
  if (typeof name !== "string") return { ok: false, summary: "the Service object needs a name" };
  const length = [...name].length;
  if (length < 1 || length > MAX_CHANNEL_NAME_LENGTH || name.trim().length === 0) {
    return { ok: false, summary: `the channel name must be 1-${MAX_CHANNEL_NAME_LENGTH} characters` };
  }
  if (UNPRINTABLE_IN_NAMES.test(name)) {
    return { ok: false, summary: "the channel name must not contain control or bidi characters" };
  }
  return { ok: true, name };
}

/**
 * A PrivateMessage may be for the current epoch or one of the `window` epochs before it (members
 * that have not processed the latest commit yet still send in the previous epoch).
 */
export function checkMessageEpoch(messageEpoch: number, currentEpoch: number, window: number): RuleCheck {
  if (messageEpoch > currentEpoch) {
    return {
      ok: false,
      summary: `the message is for epoch ${messageEpoch}, the channel is at ${currentEpoch}`,
    };
  }
  if (messageEpoch < currentEpoch - window) {
    return {
      ok: false,
      summary: `the message is for epoch ${messageEpoch}, older than the channel accepts (current ${currentEpoch}, window ${window})`,
    };
  }
  return { ok: true };
}

/** The followers collection: the distinct actors whose clients are members, in a stable order. */
export function followersOf(members: readonly ChannelMember[]): string[] {
  return [...new Set(members.map((member) => member.actorUrl))].sort();
}

export function isFollower(members: readonly ChannelMember[], actorUrl: string): boolean {
  return members.some((member) => member.actorUrl === actorUrl);
}

export interface MembershipChangeInput {
  readonly kind: "add" | "remove";
  /** The actor the activity names in `object`. */
  readonly object: string;
  /** The actor who submitted the activity. */
  readonly submitter: string;
  /** Members before the commit. */
  readonly members: readonly ChannelMember[];
  /** Leaf index of the commit's signer in the tree before the commit. */
  readonly committerLeaf: number;
  /** Leaf indices the commit removes (old tree). */
  readonly removedLeaves: readonly number[];
  /** Clients the commit adds, with the actor each credential resolved to (undefined: did not resolve). */
  readonly added: readonly { leafIndex: number; acct: string; actorUrl: string | undefined }[];
}

/**
 * Checks that a verified commit does what its Add or Remove says, and computes the members after it:
 * - the commit is signed by one of the submitter's own clients;
 * - Add: adds at least one client, every added credential names `object`, removes nothing;
 * - Remove: adds nothing, and removes exactly every client of `object`.
 */
export function planMembershipChange(input: MembershipChangeInput): RuleCheck<{ members: ChannelMember[] }> {
  const committer = input.members.find((member) => member.leafIndex === input.committerLeaf);
  if (committer === undefined) {
    return { ok: false, summary: `the commit's signer (leaf ${input.committerLeaf}) is not a member` };
  }
  if (committer.actorUrl !== input.submitter) {
    return {
      ok: false,
      summary: `the commit is signed by a client of ${committer.actorUrl}, not of the submitter ${input.submitter}`,
    };
  }
  const removedSet = new Set(input.removedLeaves);
  const remaining = input.members.filter((member) => !removedSet.has(member.leafIndex));

  if (input.kind === "add") {
    if (input.removedLeaves.length > 0)
      return { ok: false, summary: "an Add's commit must not remove members" };
    if (input.added.length === 0)
      return { ok: false, summary: "an Add's commit must add at least one client" };
    const stranger = input.added.find((client) => client.actorUrl !== input.object);
    if (stranger !== undefined) {
      return {
        ok: false,
        summary:
          stranger.actorUrl === undefined
            ? `the added credential ${stranger.acct} does not resolve to an actor`
            : `the added credential ${stranger.acct} names ${stranger.actorUrl}, not ${input.object}`,
      };
    }
    const added = input.added.map((client) => ({
      leafIndex: client.leafIndex,
      acct: client.acct,
      actorUrl: input.object,
    }));
    return { ok: true, members: sortByLeaf([...remaining, ...added]) };
  }

  if (input.added.length > 0) return { ok: false, summary: "a Remove's commit must not add clients" };
  if (input.removedLeaves.length === 0)
    return { ok: false, summary: "a Remove's commit must remove a member" };
  const removedMembers = input.members.filter((member) => removedSet.has(member.leafIndex));
  const other = removedMembers.find((member) => member.actorUrl !== input.object);
  if (other !== undefined) {
    return {
      ok: false,
      summary: `the commit also removes a client of ${other.actorUrl}, not only of ${input.object}`,
    };
  }
  if (removedMembers.length !== input.removedLeaves.length) {
    return { ok: false, summary: "the commit removes a leaf that is not a member" };
  }
  if (isFollower(remaining, input.object)) {
    return {
      ok: false,
      summary: `the commit leaves clients of ${input.object} in the group; remove all of them`,
    };
  }
  return { ok: true, members: sortByLeaf(remaining) };
}

function sortByLeaf(members: ChannelMember[]): ChannelMember[] {
  return members.sort((a, b) => a.leafIndex - b.leafIndex);
}
