/**
 * Which deliveries may overtake each other on the way to one destination. A channel's application
 * messages (`Create` of a `PrivateMessage`) may: MLS receivers keep the keys of skipped generations, so
 * a message a few places early or late still decrypts. Everything else (commits, Welcomes, Accepts,
 * Rejects, follows) must not: a message that overtakes the Welcome of a new member, or a commit it was
 * sent after, cannot be read by that member. Those run alone, in order (pure).
 */
export function mayOvertake(body: string): boolean {
  let activity: unknown;
  try {
    activity = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof activity !== "object" || activity === null) return false;
  const { type, object } = activity as { type?: unknown; object?: unknown };
  return (
    type === "Create" &&
    typeof object === "object" &&
    object !== null &&
    (object as { type?: unknown }).type === "PrivateMessage"
  );
}
