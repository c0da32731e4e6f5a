/**
 * Which local recipients of a direct delivery keep it, given their own blocks. Only an author's own
 * delivery is filtered: a channel's forward carries the channel's order, which a member's client must
 * follow whole (docs/trust-model.md, "Blocks"), so a member who blocked another member still gets the
 * channel's entries. `blocks(username)` says whether that user blocked the author (the signer, or the
 * activity's actor).
 */
export function recipientsKeeping(
  recipients: readonly string[],
  blocked: ReadonlySet<string>,
): { kept: string[]; withheld: string[] } {
  const kept: string[] = [];
  const withheld: string[] = [];
  for (const username of recipients) (blocked.has(username) ? withheld : kept).push(username);
  return { kept, withheld };
}
