/**
 * A deleted account's name: for a quarantine after the deletion the actor and WebFinger answer 410
 * Gone (peers learn the account is gone, not that it never existed) and nobody may register the name,
 * so nobody can take over the identity others still have in their channels and contacts. After it,
 * the name is purged on the next registration and is free again. Pure.
 */

/** When the quarantine of a name deleted at `deletedAt` ends. */
export function quarantineEnds(deletedAt: Date, quarantineSeconds: number): Date {
  return new Date(deletedAt.getTime() + quarantineSeconds * 1000);
}

/** Whether a name deleted at `deletedAt` may be registered again at `now` (its row purged first). */
export function purgeable(deletedAt: Date, quarantineSeconds: number, now: Date): boolean {
  return now.getTime() >= quarantineEnds(deletedAt, quarantineSeconds).getTime();
}
