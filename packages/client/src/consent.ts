import type { ProviderApi } from "./api.js";

/** Someone who asked to add this user while consent was required. */
export interface InviteInfo {
  /** The requester's actor URL. */
  requester: string;
  /** `user@host` as read from the actor URL. */
  handle: string;
  requestedAt: string;
}

/**
 * Whether adds by people who are not yet contacts wait for this user's consent (home server,
 * `/api/v1/me/consent`). Contacts: accepted requesters and the people this user claimed (added).
 */
export async function consentRequired(api: ProviderApi): Promise<boolean> {
  return (await api.request<{ required: boolean }>("GET", "/api/v1/me/consent")).required;
}

export async function setConsentRequired(api: ProviderApi, required: boolean): Promise<boolean> {
  return (await api.request<{ required: boolean }>("PUT", "/api/v1/me/consent", { required })).required;
}

/** Who asked to add this user, newest first. */
export async function listInvites(api: ProviderApi): Promise<InviteInfo[]> {
  return (await api.request<{ invites: InviteInfo[] }>("GET", "/api/v1/me/invites")).invites;
}

/** Makes the requester (`user@domain`) a contact: their add goes through when they try again. */
export async function acceptInvite(api: ProviderApi, requester: string): Promise<string[]> {
  return (await api.request<{ accepted: string[] }>("POST", "/api/v1/me/invites/accept", { requester }))
    .accepted;
}

/** Drops the requester's invite. */
export async function declineInvite(api: ProviderApi, requester: string): Promise<void> {
  await api.request<undefined>("POST", "/api/v1/me/invites/decline", { requester });
}
