/**
 * The URL layout of one provider. Every service builds URLs from this one place so that actor
 * documents, inboxes and routes cannot drift apart.
 */
export interface ProviderUrls {
  domain: string;
  base: string;
  actor(user: string): string;
  keyId(actorUrl: string): string;
  inbox(user: string): string;
  outbox(user: string): string;
  followers(user: string): string;
  following(user: string): string;
  keyPackages(user: string): string;
  keyPackageClaim(user: string): string;
  sharedInbox: string;
  instanceActor: string;
  channel(channelId: string): string;
  channelInbox(channelId: string): string;
  channelOutbox(channelId: string): string;
  channelFollowers(channelId: string): string;
  channelGroupInfo(channelId: string): string;
  channelLog(channelId: string): string;
  activity(id: string): string;
  profilePage(user: string): string;
}

export function providerUrls(domain: string, publicUrl: string): ProviderUrls {
  const base = publicUrl.replace(/\/+$/, "");
  const user = (name: string) => `${base}/users/${encodeURIComponent(name)}`;
  const channel = (id: string) => `${base}/channels/${encodeURIComponent(id)}`;
  return {
    domain,
    base,
    actor: user,
    keyId: (actorUrl) => `${actorUrl}#main-key`,
    inbox: (name) => `${user(name)}/inbox`,
    outbox: (name) => `${user(name)}/outbox`,
    followers: (name) => `${user(name)}/followers`,
    following: (name) => `${user(name)}/following`,
    keyPackages: (name) => `${user(name)}/keyPackages`,
    keyPackageClaim: (name) => `${user(name)}/keyPackages/claim`,
    sharedInbox: `${base}/inbox`,
    instanceActor: `${base}/actor`,
    channel,
    channelInbox: (id) => `${channel(id)}/inbox`,
    channelOutbox: (id) => `${channel(id)}/outbox`,
    channelFollowers: (id) => `${channel(id)}/followers`,
    channelGroupInfo: (id) => `${channel(id)}/groupInfo`,
    channelLog: (id) => `${channel(id)}/log`,
    activity: (id) => `${base}/activities/${encodeURIComponent(id)}`,
    profilePage: (name) => `${base}/@${encodeURIComponent(name)}`,
  };
}

/** The default public URL for a domain: `http://localhost:<port>` for local development, else https. */
export function defaultPublicUrl(domain: string, port: number): string {
  return domain === "localhost" ? `http://localhost:${port}` : `https://${domain}`;
}
