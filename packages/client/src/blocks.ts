import type { ProviderApi } from "./api.js";

/** One of the user's blocks, as the home server lists it. */
export interface UserBlockInfo {
  /** `user@domain` (user lower-cased) or a domain. */
  target: string;
  kind: "user" | "domain";
  createdAt: string;
}

/**
 * The user's blocks on their home server (`/api/v1/me/blocks`). A blocked user, or any user of a
 * blocked domain, cannot claim this user's KeyPackages (so cannot add them to channels), and their
 * direct deliveries never reach this user's mailbox. They are not told.
 */
export async function listBlocks(api: ProviderApi): Promise<UserBlockInfo[]> {
  return (await api.request<{ blocks: UserBlockInfo[] }>("GET", "/api/v1/me/blocks")).blocks;
}

/** Blocks `target` (`user@domain` or a domain); `created` is false when it was blocked already. */
export async function blockTarget(
  api: ProviderApi,
  target: string,
): Promise<{ target: string; kind: "user" | "domain"; created: boolean }> {
  const before = await listBlocks(api);
  const answer = await api.request<{ target: string; kind: "user" | "domain" }>(
    "PUT",
    `/api/v1/me/blocks/${encodeURIComponent(target)}`,
  );
  return { ...answer, created: !before.some((block) => block.target === answer.target) };
}

/** Lifts a block (an error with status 404, `notBlocked`, when there was none). */
export async function unblockTarget(api: ProviderApi, target: string): Promise<void> {
  await api.request<undefined>("DELETE", `/api/v1/me/blocks/${encodeURIComponent(target)}`);
}
